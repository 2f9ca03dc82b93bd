// Types for the sidecache package: both faces (dist/sidecache.mjs for import, dist/sidecache.cjs
// for require) and the "sidecache/middleware" subpath export the same names.

export declare const DEFAULT_PORT: number;
export declare const TOKEN_HEADER: string;

export interface ReadOptions {
  /** Seconds: serve a value at most this old, else fetch it (0 forces a fetch). */
  maxAge?: number;
  region?: string;
  roleArn?: string;
}

export interface ClientOptions {
  /** Default: PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, else 2773. */
  port?: number;
  /**
   * Default: SIDECACHE_TOKEN, else SIDECACHE_TOKEN_FILE's contents, else AWS_SESSION_TOKEN, else
   * AWS_CONTAINER_AUTHORIZATION_TOKEN (SnapStart functions have no session token).
   */
  token?: string;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Default: 10000. */
  timeoutMs?: number;
  /** How long a refused connection is retried while the extension starts. Default: 5000. */
  startupWaitMs?: number;
}

export type ParameterValue = string | string[];

export interface ParameterRecord {
  Name: string;
  Type: "String" | "StringList" | "SecureString";
  Value: string;
  [field: string]: unknown;
}

export interface ObjectInfo {
  path: string;
  bucket: string;
  key: string;
  versionId: string | null;
  etag: string | null;
  size: number;
  lastModified: string | null;
  contentType: string | null;
}

export declare class Client {
  constructor(options?: ClientOptions);
  readonly host: string;
  readonly port: number;
  parameter(name: string, options?: ReadOptions & { decrypt?: boolean }): Promise<ParameterValue>;
  parameters(names: string[], options?: ReadOptions & { decrypt?: boolean; missingOk?: boolean }): Promise<Record<string, ParameterValue>>;
  parametersByPath(path: string, options?: ReadOptions & { decrypt?: boolean; recursive?: boolean }): Promise<Record<string, ParameterValue>>;
  secret(secretId: string, options?: ReadOptions & { versionStage?: string; versionId?: string }): Promise<string | Buffer>;
  objectPath(uri: string, options?: ReadOptions & { versionId?: string }): Promise<string>;
  objectInfo(uri: string, options?: ReadOptions & { versionId?: string }): Promise<ObjectInfo>;
  /** An AppConfig configuration's content as deployed; `flags` reads those feature flags instead (JSON). */
  appConfig(application: string, environment: string, configuration: string, options?: { flags?: string | string[] }): Promise<Buffer>;
  appConfigInfo(application: string, environment: string, configuration: string, options?: { flags?: string | string[] }): Promise<AppConfigInfo>;
  stats(): Promise<Record<string, unknown>>;
  getJson(path: string, query?: Record<string, string | number | boolean | undefined | null>): Promise<any>;
  get(path: string, query?: Record<string, string | number | boolean | string[] | undefined | null>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  close(): void;
}

export interface AppConfigInfo {
  content: Buffer;
  contentType: string | null;
  /** The deployed version's label, null without one. */
  versionLabel: string | null;
  /** sidecache's per-profile version counter (raised whenever the content changes). */
  version: number | null;
}

export type AppConfigTransform = "json" | "binary" | "auto";

export interface AppConfigTarget {
  /** Name or id; default POWERTOOLS_SERVICE_NAME (getAppConfig, getFlag, isEnabled). */
  application?: string;
  environment: string;
  /** The configuration profile, name or id. */
  configuration: string;
  client?: Client;
}

export interface GetAppConfigOptions extends AppConfigTarget {
  /** "json": parsed; "binary": base64-decoded (a string); "auto": by the name's suffix. Default: the Buffer. */
  transform?: AppConfigTransform;
  /** Feature flag key(s) to read instead of the whole configuration (JSON). */
  flag?: string | string[];
  /** Accepted for Powertools' signature; freshness is sidecache's poll interval. */
  maxAge?: number;
  /** Accepted for Powertools' signature; freshness is sidecache's poll interval. */
  forceFetch?: boolean;
}

/** An AppConfig configuration, Powertools' getAppConfig shape: a Buffer unless transformed. */
export declare function getAppConfig(options: GetAppConfigOptions & { transform?: undefined }): Promise<Buffer>;
export declare function getAppConfig(options: GetAppConfigOptions): Promise<unknown>;
export declare function getAppConfig(name: string, options: Omit<GetAppConfigOptions, "configuration"> & { transform?: undefined }): Promise<Buffer>;
export declare function getAppConfig(name: string, options: Omit<GetAppConfigOptions, "configuration">): Promise<unknown>;
/** One feature flag's object ({ enabled, ...attributes }); an unknown flag is NotFound (FlagNotFound). */
export declare function getFlag(flag: string, options: AppConfigTarget): Promise<{ enabled: boolean; [attribute: string]: unknown }>;
/** Whether a feature flag is enabled; defaultValue (false) when the profile has no such flag. */
export declare function isEnabled(flag: string, options: AppConfigTarget & { defaultValue?: boolean }): Promise<boolean>;
export declare function transformAppConfig(value: Buffer, transform: AppConfigTransform | undefined, name?: string): unknown;

export declare function getDefaultClient(): Client;
export declare function setDefaultClient(client: Client): Client | undefined;
export declare function parameterValue(record: ParameterRecord): ParameterValue;
/** The typed error for an error answer (its status and body text). */
export declare function errorFromResponse(status: number, body: string): SidecacheError;

export declare class SidecacheError extends Error {
  constructor(status: number | null, errorType: string, message: string, options?: { cause?: unknown });
  /** The HTTP status; null when nothing answered. */
  readonly status: number | null;
  /** The JSON error's __type, e.g. "ParameterNotFound". */
  readonly errorType: string;
  /** sidecache's message (never a value or the token). */
  readonly detail: string;
}
export declare class BadRequest extends SidecacheError {}
export declare class AccessDenied extends SidecacheError {}
export declare class NotFound extends SidecacheError {}
export declare class Throttled extends SidecacheError {}
export declare class UpstreamUnavailable extends SidecacheError {}
export declare class Timeout extends SidecacheError {}
export declare class Unreachable extends SidecacheError {}

export interface SidecacheMiddlewareOptions {
  /** Context key -> SSM parameter name; a name ending in "/" is a whole tree. */
  parameters?: Record<string, string>;
  /** Context key -> secret id. */
  secrets?: Record<string, string>;
  /** Context key -> s3://bucket/key; the value is the object's local path. */
  objects?: Record<string, string>;
  /**
   * Context key -> AppConfig profile. The value is parsed when its Content-Type is JSON, else a
   * string (as @middy/appconfig-extension gives it), unless `transform` says otherwise.
   */
  appConfig?: Record<string, { application: string; environment: string; configuration: string; flag?: string | string[]; transform?: AppConfigTransform }>;
  /** Seconds; 0 fetches on every invocation. Default: sidecache's TTL. */
  maxAge?: number;
  /** middy's name, in milliseconds (-1: sidecache's TTL). maxAge wins. */
  cacheExpiry?: number;
  /** Default true. Values always go to request.internal too. */
  setToContext?: boolean;
  /** Default false: the first fetch starts when the middleware is created. */
  disablePrefetch?: boolean;
  client?: Client;
}

export interface MiddyLikeRequest {
  event: unknown;
  context: Record<string, any>;
  internal?: Record<string, unknown>;
  [field: string]: unknown;
}

export declare function sidecache(options?: SidecacheMiddlewareOptions): { before: (request: MiddyLikeRequest) => Promise<void> };
export declare function jsonSafeParse(text: unknown): unknown;
export default sidecache;
