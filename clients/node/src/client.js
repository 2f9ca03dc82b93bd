// The plain client: node:http with a keep-alive agent, typed errors, a start-up retry.
//
// node:http rather than the global fetch: measured on Node 20 (client and a local server in one
// process, CPU per call), the first fetch() costs ~40-50 ms of CPU to load undici against
// ~10-13 ms for the first http.get, and each later call ~850 us against ~340 us. At a 128 MB
// function's ~7 % of a core the first-call difference alone is ~0.4 s of cold start.
import { readFileSync } from "node:fs";
import http from "node:http";
import { errorFromResponse, NotFound, SidecacheError, Unreachable } from "./errors.js";

export const DEFAULT_PORT = 2773;
export const TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token";
// How long a refused connection is retried: an extension that starts with the function may
// still be binding its port when INIT code makes the first call.
export const DEFAULT_STARTUP_WAIT_MS = 5000;
const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A token file's contents, trimmed; "" when unreadable (sidecache then answers a 403 that says so).
function readTokenFile(path) {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

// The token in the extension's own order: SIDECACHE_TOKEN, else SIDECACHE_TOKEN_FILE's
// contents, else AWS_SESSION_TOKEN.
function tokenFromEnv(env) {
  if (env.SIDECACHE_TOKEN) return env.SIDECACHE_TOKEN;
  if (env.SIDECACHE_TOKEN_FILE) return readTokenFile(env.SIDECACHE_TOKEN_FILE);
  return env.AWS_SESSION_TOKEN || "";
}

/** A GetParameter(s) record's value: a StringList split on commas, as lambda-cache does. */
export function parameterValue(record) {
  return record.Type === "StringList" ? record.Value.split(",") : record.Value;
}

export class Client {
  /**
   * @param {object} [options]
   * @param {number} [options.port] default PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, else 2773
   * @param {string} [options.token] default SIDECACHE_TOKEN, else SIDECACHE_TOKEN_FILE's contents, else AWS_SESSION_TOKEN (as the extension)
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
    this.headers = { [TOKEN_HEADER]: options.token ?? tokenFromEnv(env) };
    // A token read from SIDECACHE_TOKEN_FILE may be rotated: re-read on a 403.
    this.tokenFile = options.token === undefined && !env.SIDECACHE_TOKEN ? env.SIDECACHE_TOKEN_FILE : undefined;
    // One kept-alive socket serves a handler's sequential calls; a few more for Promise.all.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** One SSM parameter (decrypted by default): a string, or an array for a StringList. */
  async parameter(name, { maxAge, decrypt = true, region, roleArn } = {}) {
    const body = await this.getJson("/systemsmanager/parameters/get", {
      name, withDecryption: String(decrypt), maxAge, region, roleArn,
    });
    return parameterValue(body.Parameter);
  }

  /**
   * Several parameters in one request: { name as asked: value }. A name that does not exist
   * throws NotFound naming every missing one, unless `missingOk` (then it is left out).
   */
  async parameters(names, { maxAge, decrypt = true, missingOk = false, region, roleArn } = {}) {
    if (names.length === 0) return {};
    const body = await this.getJson("/systemsmanager/parameters/get-many", {
      names: names.join(","), withDecryption: String(decrypt), maxAge, region, roleArn,
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
      path, recursive: String(recursive), withDecryption: String(decrypt), maxAge, region, roleArn,
    });
    const values = {};
    for (const record of body.Parameters ?? []) values[record.Name] = parameterValue(record);
    return values;
  }

  /** A secret as stored: a string (SecretString) or a Buffer (SecretBinary). */
  async secret(secretId, { maxAge, versionStage, versionId, region, roleArn } = {}) {
    const body = await this.getJson("/secretsmanager/get", {
      secretId, versionStage, versionId, maxAge, region, roleArn,
    });
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

  /** sidecache's counters (GET /stats). */
  async stats() {
    return this.getJson("/stats");
  }

  /** GET an endpoint and parse its JSON; undefined/null query entries are left out. */
  async getJson(path, query = {}) {
    const { body } = await this.get(path, query);
    return JSON.parse(body.toString("utf8"));
  }

  /** GET an endpoint: { headers, body: Buffer } of a 2xx answer, else the typed error. */
  async get(path, query = {}) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) params.append(key, String(value));
    }
    const queryString = params.toString();
    const target = queryString ? `${path}?${queryString}` : path;
    const deadline = Date.now() + this.startupWaitMs;
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      try {
        let response = await this.#send(target);
        if (response.status === 403 && this.tokenFile && this.#tokenRotated()) response = await this.#send(target);
        if (response.status >= 400) throw errorFromResponse(response.status, response.body.toString("utf8"));
        return response;
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

  /** Closes the kept-alive sockets (they are unref'd: an idle client never holds a process open). */
  close() {
    this.agent.destroy();
  }

  #tokenRotated() {
    const token = readTokenFile(this.tokenFile);
    if (token === this.headers[TOKEN_HEADER]) return false;
    this.headers[TOKEN_HEADER] = token;
    return true;
  }

  // One request; a kept-alive socket the server closed while idle is retried once on a new
  // one (Node's documented pattern: ECONNRESET on `req.reusedSocket`). Reads are GETs: safe.
  #send(target, retried = false) {
    return new Promise((resolve, reject) => {
      const request = http.get(
        { host: this.host, port: this.port, path: target, headers: this.headers, agent: this.agent, timeout: this.timeoutMs },
        (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(Object.assign(new Error(`no answer in ${this.timeoutMs} ms`), { code: "ETIMEDOUT" })));
      request.on("error", (error) => {
        if (!retried && request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
          resolve(this.#send(target, true));
        } else {
          reject(error);
        }
      });
    });
  }
}

let defaultClient;

/** The module-wide client the middleware shares, created on first use. */
export function getDefaultClient() {
  defaultClient ??= new Client();
  return defaultClient;
}

/** Replace the shared client (e.g. another port or host); returns the previous one. */
export function setDefaultClient(client) {
  const previous = defaultClient;
  defaultClient = client;
  return previous;
}
