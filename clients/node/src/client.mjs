// sidecache's handler-side client for Node.js: a keep-alive client, typed errors, AWS AppConfig
// reads (getAppConfig, feature flags), and a middy-compatible middleware (src/middleware.mjs,
// loaded on first use). No dependencies.
//
// The package loads none of src/ directly: tools/build.mjs bundles this file and src/wire.mjs
// into one module per loader, dist/sidecache.mjs for `import` and dist/sidecache.cjs for
// `require`. At a cold start each extra module costs ~0.3 ms of CPU, and crossing over (an ES
// module that requires CommonJS, or the reverse) 1-2 ms, against ~4 ms for the whole read
// (docs/clients-node.md, "Cold start"). Should both faces load in one process, the first one
// to load registers the package on a global symbol and the second exports that, so there is
// one Client and one NotFound whichever way a caller got them (no dual-package hazard).
import { ConnectionPool } from "./wire.mjs";

// The registry both faces share (see above); bump the suffix if the shape ever changes.
const SHARED = Symbol.for("sidecache.node-client.v2");

// Everything the package defines. Top-level, not in a function called once: V8 would parse
// such a function's body twice (once lazily, once when called), a cost at every cold start.
const DEFAULT_PORT = 2773;
const TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token";
// How long a refused connection is retried: an extension that starts with the function may
// still be binding its port when INIT code makes the first call.
const DEFAULT_STARTUP_WAIT_MS = 5000;
const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 250;
// One kept-alive connection serves a handler's sequential calls; a few more for Promise.all.
const MAX_CONNECTIONS = 4;
// A header value or request target holding a line break or NUL would end its line early and
// smuggle in more. (Not a regular expression: compiling one costs more than this at a cold start.)
const breaksLine = (text) => text.includes("\n") || text.includes("\r") || text.includes("\0");

// Typed errors for sidecache's JSON errors ({"__type", "message"} plus a status). The class is
// chosen by HTTP status, which sidecache keeps distinct per cause (docs/api.md, "Status codes");
// `errorType` keeps the exact __type (e.g. "ParameterNotFound").
class SidecacheError extends Error {
  constructor(status, errorType, message, options) {
    super(status ? `${errorType} (HTTP ${status}): ${message}` : `${errorType}: ${message}`, options);
    this.name = new.target.name;
    this.status = status;
    this.errorType = errorType;
    this.detail = message; // sidecache's own message: it never holds a value or the token
  }
}
/** 400: a malformed name or query, or AWS refused the request as invalid. */
class BadRequest extends SidecacheError {}
/** 403: a missing or wrong token, or the function's role may not read or decrypt the value. */
class AccessDenied extends SidecacheError {}
/** 404: the parameter, secret, version, bucket or object does not exist. */
class NotFound extends SidecacheError {}
/** 429: AWS throttled the call after the SDK's own retries. */
class Throttled extends SidecacheError {}
/** 502/503: AWS could not be reached, or answered 5xx, after retries. */
class UpstreamUnavailable extends SidecacheError {}
/** 504: the AWS call ran out of time. */
class Timeout extends SidecacheError {}
/** Nothing answered on the port: the extension is not in the function, or never started. */
class Unreachable extends SidecacheError {}

const ERROR_BY_STATUS = { 400: BadRequest, 403: AccessDenied, 404: NotFound, 429: Throttled, 502: UpstreamUnavailable, 503: UpstreamUnavailable, 504: Timeout };

/** The error for an error answer; `body` is its text (JSON when sidecache wrote it). */
function errorFromResponse(status, body) {
  let parsed = null;
  try {
    parsed = JSON.parse(body);
  } catch {}
  if (parsed === null || typeof parsed !== "object") parsed = {};
  const Type = ERROR_BY_STATUS[status] ?? SidecacheError;
  return new Type(status, parsed.__type || `HTTP${status}`, parsed.message || "");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A token file's contents, trimmed; "" when unreadable (sidecache then answers a 403 that says
// so). node:fs is loaded on this path only: most functions have no token file.
async function readTokenFile(path) {
  try {
    const { readFile } = await import("node:fs/promises");
    return (await readFile(path, "utf8")).trim();
  } catch {
    return "";
  }
}

/** The AppConfig Agent's route for a profile: each identifier (name or id) one path segment. */
function appConfigPath(application, environment, configuration) {
  for (const [what, id] of [["application", application], ["environment", environment], ["configuration", configuration]]) {
    if (typeof id !== "string" || id === "") throw new TypeError(`AppConfig ${what} must be a non-empty string, not ${id}`);
  }
  return `/applications/${encodeURIComponent(application)}/environments/${encodeURIComponent(environment)}/configurations/${encodeURIComponent(configuration)}`;
}

/** A GetParameter(s) record's value: a StringList split on commas, as lambda-cache does. */
function parameterValue(record) {
  return record.Type === "StringList" ? record.Value.split(",") : record.Value;
}

class Client {
  /**
   * @param {object} [options]
   * @param {number} [options.port] default PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, else 2773
   * @param {string} [options.token] default SIDECACHE_TOKEN, else SIDECACHE_TOKEN_FILE's contents,
   *   else AWS_SESSION_TOKEN, else AWS_CONTAINER_AUTHORIZATION_TOKEN
   * @param {string} [options.host] default 127.0.0.1
   * @param {number} [options.timeoutMs] default 10000
   * @param {number} [options.startupWaitMs] how long a refused connection is retried, default 5000
   */
  constructor(options = {}) {
    const env = process.env;
    this.host = options.host ?? "127.0.0.1";
    this.port = Number(options.port ?? (env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || DEFAULT_PORT));
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.startupWaitMs = options.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS;
    // The extension's own order (SIDECACHE_TOKEN, else SIDECACHE_TOKEN_FILE), else the
    // function's AWS_SESSION_TOKEN, else AWS_CONTAINER_AUTHORIZATION_TOKEN: a SnapStart function
    // has no session token in its environment, and sidecache accepts this one there.
    // A token file is read at the first request, and again after a 403 (it may be rotated).
    this.tokenFile = options.token === undefined && !env.SIDECACHE_TOKEN ? env.SIDECACHE_TOKEN_FILE || undefined : undefined;
    this.token = options.token ?? (this.tokenFile ? undefined
      : env.SIDECACHE_TOKEN || env.AWS_SESSION_TOKEN || env.AWS_CONTAINER_AUTHORIZATION_TOKEN || "");
    this.connections = new ConnectionPool(this.host, this.port, MAX_CONNECTIONS, this.timeoutMs);
  }

  /** One SSM parameter (decrypted by default): a string, or an array for a StringList. */
  async parameter(name, { maxAge, decrypt = true, region, roleArn } = {}) {
    const body = await this.getJson("/systemsmanager/parameters/get", { name, withDecryption: decrypt, maxAge, region, roleArn });
    return parameterValue(body.Parameter);
  }

  /**
   * Several parameters in one request: { name as asked: value }. A name that does not exist
   * throws NotFound naming every missing one, unless `missingOk` (then it is left out).
   */
  async parameters(names, { maxAge, decrypt = true, missingOk = false, region, roleArn } = {}) {
    if (names.length === 0) return {};
    const body = await this.getJson("/systemsmanager/parameters/get-many", {
      names: names.join(","), withDecryption: decrypt, maxAge, region, roleArn,
    });
    const invalid = body.InvalidParameters ?? [];
    if (invalid.length && !missingOk) {
      throw new NotFound(404, "ParameterNotFound", `parameters not found: ${invalid.join(", ")}`);
    }
    const values = {};
    for (const record of body.Parameters ?? []) values[record.Name] = parameterValue(record);
    return values;
  }

  /** Every parameter under a path: { full name: value }. */
  async parametersByPath(path, { recursive = false, maxAge, decrypt = true, region, roleArn } = {}) {
    const body = await this.getJson("/systemsmanager/parameters/by-path", {
      path, recursive, withDecryption: decrypt, maxAge, region, roleArn,
    });
    const values = {};
    for (const record of body.Parameters ?? []) values[record.Name] = parameterValue(record);
    return values;
  }

  /** A secret as stored: a string (SecretString) or a Buffer (SecretBinary). */
  async secret(secretId, { maxAge, versionStage, versionId, region, roleArn } = {}) {
    const body = await this.getJson("/secretsmanager/get", { secretId, versionStage, versionId, maxAge, region, roleArn });
    if (body.SecretString !== null && body.SecretString !== undefined) return body.SecretString;
    return Buffer.from(body.SecretBinary ?? "", "base64");
  }

  /** The local path of an S3 object (`s3://bucket/key`) that sidecache downloaded. */
  async objectPath(uri, options = {}) {
    return (await this.objectInfo(uri, options)).path;
  }

  /** The whole /s3/get answer: path, bucket, key, etag, size, lastModified, contentType. */
  async objectInfo(uri, { maxAge, versionId, region, roleArn } = {}) {
    return this.getJson("/s3/get", { uri, versionId, maxAge, region, roleArn });
  }

  /**
   * An AWS AppConfig configuration's content as deployed, a Buffer (names or ids). `flags` (a
   * flag key or an array of them) reads those flags of a feature-flag profile instead: one
   * flag's object as JSON, or an object keyed by flag. As fresh as sidecache's AppConfig poll
   * interval (docs/appconfig.md): there is no maxAge, sidecache decides when to ask again.
   */
  async appConfig(application, environment, configuration, { flags } = {}) {
    return (await this.get(appConfigPath(application, environment, configuration), { flag: flags })).body;
  }

  /**
   * `appConfig` with what the answer says about it: { content (a Buffer), contentType,
   * versionLabel (null without a label), version (sidecache's per-profile counter) }.
   */
  async appConfigInfo(application, environment, configuration, { flags } = {}) {
    const { headers, body } = await this.get(appConfigPath(application, environment, configuration), { flag: flags });
    const version = Number.parseInt(headers["configuration-version"] ?? "", 10);
    return {
      content: body, contentType: headers["content-type"] ?? null, versionLabel: headers["version-label"] ?? null,
      version: Number.isNaN(version) ? null : version,
    };
  }

  /** sidecache's counters (GET /stats). */
  async stats() {
    return this.getJson("/stats");
  }

  /** GET an endpoint and parse its JSON; undefined/null query entries are left out. */
  async getJson(path, query = {}) {
    const { body } = await this.get(path, query);
    return JSON.parse(body.toString("utf8"));
  }

  /** GET an endpoint: { status, headers, body: Buffer } of a 2xx answer, else the typed error. */
  async get(path, query = {}) {
    let target = path;
    for (const key in query) {
      const value = query[key];
      if (value === undefined || value === null) continue;
      // An array repeats its key (flag=a&flag=b).
      for (const item of Array.isArray(value) ? value : [value]) {
        target += `${target === path ? "?" : "&"}${encodeURIComponent(key)}=${encodeURIComponent(item)}`;
      }
    }
    if (breaksLine(target) || target.includes(" ")) {
      throw new BadRequest(null, "InvalidPath", "the path holds a space or a line break; nothing was sent");
    }
    if (this.token === undefined) this.token = await readTokenFile(this.tokenFile);
    const deadline = Date.now() + this.startupWaitMs;
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      try {
        let response = await this.#send(target);
        if (response.status === 403 && this.tokenFile && (await this.#tokenRotated())) response = await this.#send(target);
        if (response.status >= 400) throw errorFromResponse(response.status, response.body.toString("utf8"));
        return { status: response.status, headers: response.headers, body: response.body };
      } catch (error) {
        if (error instanceof SidecacheError) throw error;
        if (error.code === "ECONNREFUSED" && Date.now() + backoff <= deadline) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          continue;
        }
        if (error.code === "ECONNREFUSED") {
          throw new Unreachable(null, "ConnectionRefused",
            `nothing listens on ${this.host}:${this.port} after ${this.startupWaitMs} ms: is the sidecache layer added to the function?`,
            { cause: error });
        }
        throw new Unreachable(null, error.code ?? error.name, `sidecache on ${this.host}:${this.port}: ${error.message}`, { cause: error });
      }
    }
  }

  /** Closes the kept-alive connections (idle ones never hold a process open anyway). */
  close() {
    this.connections.close();
  }

  #send(target) {
    // The token is never quoted: not in this message, not anywhere.
    if (breaksLine(this.token)) {
      throw new AccessDenied(null, "InvalidToken", "the token holds a line break or NUL; nothing was sent");
    }
    return this.connections.get(target, `${TOKEN_HEADER}: ${this.token}\r\n`);
  }

  async #tokenRotated() {
    const token = await readTokenFile(this.tokenFile);
    if (token === this.token) return false;
    this.token = token;
    return true;
  }
}

let defaultClient;

/** The module-wide client the middleware shares, created on first use. */
function getDefaultClient() {
  defaultClient ??= new Client();
  return defaultClient;
}

/** Replace the shared client (e.g. another port or host); returns the previous one. */
function setDefaultClient(client) {
  const previous = defaultClient;
  defaultClient = client;
  return previous;
}

/** middy's jsonSafeParse: JSON-looking text parsed, anything else as it is. */
function jsonSafeParse(text) {
  if (typeof text !== "string") return text;
  const first = text[0];
  if (first !== "{" && first !== "[" && first !== '"') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const APPCONFIG_TRANSFORMS = [undefined, null, "json", "binary", "auto"];

/**
 * Powertools' transforms on a configuration's bytes: none (the Buffer), "json" (parsed),
 * "binary" (base64-decoded, as a UTF-8 string, as Powertools for TypeScript gives it), "auto"
 * (by the name's suffix: .json, .binary; else as it is). A failure throws (SyntaxError...).
 */
function transformAppConfig(value, transform, name = "") {
  let how = transform;
  if (how === "auto") {
    const lower = name.toLowerCase();
    how = lower.endsWith(".json") ? "json" : lower.endsWith(".binary") ? "binary" : undefined;
  }
  if (how === undefined || how === null) return value;
  if (how === "json") return JSON.parse(value.toString("utf8"));
  if (how === "binary") return Buffer.from(value.toString("utf8"), "base64").toString("utf8");
  throw new TypeError(`transform must be "json", "binary" or "auto", not ${transform}`);
}

/** Powertools' default application: POWERTOOLS_SERVICE_NAME. */
function appConfigApplication(application) {
  const resolved = application ?? process.env.POWERTOOLS_SERVICE_NAME;
  if (!resolved) throw new TypeError("no AppConfig application given, and POWERTOOLS_SERVICE_NAME is not set");
  return resolved;
}

/**
 * An AWS AppConfig configuration through sidecache's main port (with the token), in the shape of
 * Powertools for TypeScript's getAppConfig: `getAppConfig({ application, environment,
 * configuration, transform, flag })`, or `getAppConfig(name, { environment, application,
 * transform })` as Powertools calls it. A Buffer unless transformed (see transformAppConfig).
 * `maxAge` and `forceFetch` are accepted so Powertools calls run unchanged; neither makes
 * sidecache ask AppConfig sooner than its poll interval (docs/clients-node.md, "AppConfig").
 */
async function getAppConfig(nameOrOptions, options = {}) {
  const opts = typeof nameOrOptions === "string" ? { ...options, configuration: nameOrOptions } : (nameOrOptions ?? {});
  if (!APPCONFIG_TRANSFORMS.includes(opts.transform)) {
    throw new TypeError(`transform must be "json", "binary" or "auto", not ${opts.transform}`);
  }
  const client = opts.client ?? getDefaultClient();
  const content = await client.appConfig(appConfigApplication(opts.application), opts.environment, opts.configuration, { flags: opts.flag });
  return transformAppConfig(content, opts.transform, opts.configuration);
}

/** One feature flag's object, `{ enabled, ...attributes }`; an unknown flag is NotFound (FlagNotFound). */
async function getFlag(flag, { application, environment, configuration, client } = {}) {
  if (typeof flag !== "string" || flag === "") throw new TypeError(`a flag key is a non-empty string, not ${flag}`);
  return getAppConfig({ application, environment, configuration, client, flag, transform: "json" });
}

/**
 * Whether a feature flag is enabled; `defaultValue` (false unless given) when the profile has
 * no such flag. Anything else (an unknown profile, one not in feature-flag form) throws.
 */
async function isEnabled(flag, { defaultValue = false, ...where } = {}) {
  try {
    return (await getFlag(flag, where)).enabled === true;
  } catch (error) {
    if (error instanceof NotFound && error.errorType === "FlagNotFound") return defaultValue;
    throw error;
  }
}

/**
 * The middy middleware (src/middleware.mjs has the whole story). It is `{ before }` at once;
 * its module loads in the background, and its prefetch starts as soon as it has.
 */
function sidecache(options = {}) {
  const middleware = import("./middleware.mjs").then((module) => module.createMiddleware(options, globalThis[SHARED]));
  middleware.catch(() => {}); // a load failure surfaces at the first invocation, not as unhandled
  return { before: async (request) => (await middleware).before(request) };
}

// The first face of the package to load in this process registers what it defined. Should the
// other face load too, it takes those objects for its own names (its own definitions go
// unused), so both export the same classes and the same default client.
const api = (globalThis[SHARED] ??= Object.freeze({
  Client, getDefaultClient, setDefaultClient, parameterValue, jsonSafeParse, sidecache, errorFromResponse,
  getAppConfig, getFlag, isEnabled, transformAppConfig,
  DEFAULT_PORT, TOKEN_HEADER,
  SidecacheError, BadRequest, AccessDenied, NotFound, Throttled, UpstreamUnavailable, Timeout, Unreachable,
}));
({
  Client, getDefaultClient, setDefaultClient, parameterValue, jsonSafeParse, sidecache, errorFromResponse,
  getAppConfig, getFlag, isEnabled, transformAppConfig,
  SidecacheError, BadRequest, AccessDenied, NotFound, Throttled, UpstreamUnavailable, Timeout, Unreachable,
} = api);

export {
  Client, getDefaultClient, setDefaultClient, parameterValue, jsonSafeParse, sidecache, errorFromResponse,
  getAppConfig, getFlag, isEnabled, transformAppConfig,
  DEFAULT_PORT, TOKEN_HEADER,
  SidecacheError, BadRequest, AccessDenied, NotFound, Throttled, UpstreamUnavailable, Timeout, Unreachable,
};
export default api.sidecache;
