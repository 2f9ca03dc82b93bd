// Built from src/client.mjs and the modules it imports by tools/build.mjs: edit there, then run `npm run build`.
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
// ---- src/wire.mjs (inlined) ----
// HTTP/1.1 GETs to sidecache over kept-alive connections (src/transport.mjs opens them).
//
// Not node:http: sidecache is on loopback and answers HTTP/1.1 with Content-Length, so a request
// is one write and an answer one or two reads. node:http's parser, agent and outgoing-message
// machinery cost more CPU at a cold start than everything else the client does
// (docs/clients-node.md, "Cold start"). Chunked answers and answers read until close are
// understood too, so that a proxy in between cannot confuse the reader.
// ---- src/transport.mjs (inlined) ----
// How the client opens a TCP connection to sidecache: on the libuv TCP handle that node:net
// itself is built on, or through node:net.
//
// Why not always node:net: at a cold start, loading node:net and opening its first socket cost
// ~4.5 ms of CPU, because Node compiles its stream and socket machinery on first use; the same
// connect, write and read on the handle underneath take ~0.6 ms (docs/clients-node.md, "Cold
// start"). At a 128 MB function's ~7 % of a core, that difference is ~55 ms of every cold start.
//
// The handle comes from process.binding("tcp_wrap"). process.binding is deprecated in the docs
// only (DEP0111): it warns only under --pending-deprecation, and then we use node:net instead.
// Its handles are Node's internals, so they are used only on the Node.js majors whose handles
// the tests exercise (HANDLE_MAJORS), only for an IPv4 address (a handle does no DNS), and
// never when SIDECACHE_CLIENT_TRANSPORT=net. Anything else goes through node:net, which
// behaves the same, at its cost.
//
// Both give the pool (src/wire.mjs) the same small connection:
//   open(host, port, onData(chunk), onClose(error or null)) -> { write(text), ref(), unref(),
//   destroy(), destroyed }
// Bytes come to onData as they arrive; onClose is called once, after the connection ended for
// whatever reason (refused, reset, closed by the server, or destroy()), never synchronously.

// The majors whose handle API (tcp_wrap, stream_wrap) the tests run against: Lambda's Node.js
// runtimes, and the machine's own Node.js. A new major uses node:net until it is added here.
const HANDLE_MAJORS = [20, 22, 24, 26];
const UV_EOF = -4095; // libuv's end of stream, the same number on every platform

/** The handle API, or null where node:net must be used instead. */
function handleApi() {
  if (process.env.SIDECACHE_CLIENT_TRANSPORT === "net") return null;
  if (!HANDLE_MAJORS.includes(Number(process.versions.node.split(".")[0]))) return null;
  // --pending-deprecation (the flag, in NODE_OPTIONS, or NODE_PENDING_DEPRECATION=1) replaces
  // process.binding with a wrapper named "deprecated" that prints a warning on each call.
  if (typeof process.binding !== "function" || process.binding.name !== "binding") return null;
  // Node.js 20.16+: naming a system error (the refused connection of a cold start) needs it.
  if (typeof process.getBuiltinModule !== "function") return null;
  try {
    const { TCP, TCPConnectWrap, constants } = process.binding("tcp_wrap");
    const stream = process.binding("stream_wrap");
    const api = {
      TCP, TCPConnectWrap, socketType: constants?.SOCKET,
      WriteWrap: stream.WriteWrap, state: stream.streamBaseState,
      readBytes: stream.kReadBytesOrError, readOffset: stream.kArrayBufferOffset,
      lastWriteAsync: stream.kLastWriteWasAsync,
    };
    const complete = typeof TCP === "function" && typeof TCPConnectWrap === "function" && typeof api.WriteWrap === "function"
      && api.state instanceof Int32Array && [api.socketType, api.readBytes, api.readOffset, api.lastWriteAsync].every(Number.isInteger);
    return complete ? api : null;
  } catch {
    return null; // e.g. the permission model forbids process.binding
  }
}

/** An error like node:net's for a libuv status: `code` "ECONNREFUSED", "ECONNRESET", ... */
function systemError(status, syscall, address) {
  const code = process.getBuiltinModule("node:util").getSystemErrorName(status);
  return Object.assign(new Error(`${syscall} ${code}${address ? ` ${address}` : ""}`), { code, errno: status, syscall });
}

/** A connection on a libuv TCP handle, driven as node:net drives it, without the streams. */
class HandleConnection {
  constructor(api, host, port, onData, onClose) {
    this.api = api;
    this.onData = onData;
    this.onClose = onClose;
    this.destroyed = false;
    this.connecting = true;
    this.pending = null; // text written before the connection was up
    this.writing = null; // an asynchronous write's request, kept reachable until it completes
    this.address = `${host}:${port}`;
    // node:net's check and error: the handle's connect() aborts the process on a port that is
    // not an unsigned 32-bit integer.
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw Object.assign(new RangeError(`Port should be >= 0 and < 65536. Received ${port}.`), { code: "ERR_SOCKET_BAD_PORT" });
    }
    this.handle = new api.TCP(api.socketType);
    this.handle.onread = (arrayBuffer) => this.#read(arrayBuffer);
    const request = new api.TCPConnectWrap();
    request.oncomplete = (status) => this.#connected(status);
    const status = this.handle.connect(request, host, port);
    if (status < 0) this.#end(systemError(status, "connect", this.address));
  }

  write(text) {
    if (this.destroyed) return;
    if (this.connecting) {
      this.pending = (this.pending ?? "") + text;
      return;
    }
    const request = new this.api.WriteWrap();
    request.handle = this.handle;
    request.async = false;
    request.oncomplete = (status) => {
      this.writing = null;
      if (status < 0) this.#end(systemError(status, "write"));
    };
    const status = this.handle.writeUtf8String(request, text);
    if (status < 0) return this.#end(systemError(status, "write"));
    // Written at once (the usual case on loopback) unless libuv queued it: then oncomplete follows.
    if (this.api.state[this.api.lastWriteAsync]) this.writing = request;
  }

  ref() {
    if (!this.destroyed) this.handle.ref();
  }

  unref() {
    if (!this.destroyed) this.handle.unref();
  }

  destroy() {
    this.#end(null);
  }

  #connected(status) {
    this.connecting = false;
    if (this.destroyed) return;
    if (status < 0) return this.#end(systemError(status, "connect", this.address));
    // Nagle off, as node:net's noDelay: a request is one write, and must not wait for an ACK.
    this.handle.setNoDelay(true);
    const reading = this.handle.readStart();
    if (reading < 0) return this.#end(systemError(reading, "read"));
    if (this.pending !== null) {
      const text = this.pending;
      this.pending = null;
      this.write(text);
    }
  }

  // libuv read into a new ArrayBuffer of ours; how much (or the error) is in the shared state.
  #read(arrayBuffer) {
    const read = this.api.state[this.api.readBytes];
    if (read > 0) return this.onData(Buffer.from(arrayBuffer, this.api.state[this.api.readOffset], read));
    if (read === 0) return; // nothing this time (EAGAIN)
    this.#end(read === UV_EOF ? null : systemError(read, "read"));
  }

  #end(error) {
    if (this.destroyed) return;
    this.destroyed = true;
    this.handle.close(() => this.onClose(error));
  }
}

/** The same connection through node:net. */
class NetConnection {
  constructor(net, host, port, onData, onClose) {
    let error = null;
    // noDelay as an option: socket.setNoDelay() on a socket still connecting waits on a
    // 'connect' listener, a cost at the first request.
    this.socket = net.connect({ port, host, noDelay: true });
    this.socket.on("data", onData);
    this.socket.on("error", (cause) => (error = cause)); // 'close' follows and reports it
    this.socket.on("close", () => onClose(error));
  }

  get destroyed() {
    return this.socket.destroyed;
  }

  write(text) {
    this.socket.write(text);
  }

  ref() {
    this.socket.ref();
  }

  unref() {
    this.socket.unref();
  }

  destroy() {
    this.socket.destroy();
  }
}

// An IPv4 address in dotted form, as libuv parses it (no leading zeros): what a handle can
// connect to without a DNS lookup. (No regular expression: compiling one costs more.)
function isIPv4(host) {
  if (typeof host !== "string") return false;
  const parts = host.split(".");
  return parts.length === 4 && parts.every((part) => part.length >= 1 && part.length <= 3
    && (part.length === 1 || part[0] !== "0") && [...part].every((c) => c >= "0" && c <= "9") && Number(part) <= 255);
}

/** open(host, port, onData, onClose) for connections to `host`: on handles where they serve. */
async function transportFor(host) {
  const api = isIPv4(host) ? handleApi() : null;
  if (api !== null) return (address, port, onData, onClose) => new HandleConnection(api, address, port, onData, onClose);
  const net = process.getBuiltinModule?.("node:net") ?? (await import("node:net")).default;
  return (address, port, onData, onClose) => new NetConnection(net, address, port, onData, onClose);
}


// ---- end of src/transport.mjs ----

const HEAD_END = "\r\n\r\n";
const MAX_HEAD_BYTES = 64 * 1024;

const connectionError = (code, message) => Object.assign(new Error(message), { code });

/**
 * Calls `onTimeout` after `ms` unless the returned function is called first; no deadline
 * unless `ms` is a positive finite number. Not a timer (setTimeout, socket.setTimeout): the
 * first timer of a process costs ~0.3 ms of CPU, as much as the rest of a request, because
 * Node compiles its timer machinery on first use. Atomics.waitAsync on a cell of our own
 * resolves "timed-out" after `ms` from a task of V8's own, and Atomics.notify settles it early.
 * Like an unref'd timer it never holds the process open; the socket in use does that.
 */
function deadline(ms, onTimeout) {
  if (!(ms > 0 && ms < Infinity)) return () => {};
  const cell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.waitAsync(cell, 0, 0, ms).value.then((result) => result === "timed-out" && onTimeout());
  return () => Atomics.notify(cell, 0);
}
const protocolError = (what) => connectionError("EPROTO", `sidecache's answer is not HTTP/1.1 as expected: ${what}`);

/** One answer from a connection's bytes: `push` each chunk; the whole answer, or null. */
class ResponseReader {
  constructor() {
    this.pending = null; // bytes not yet consumed: a partial head or chunk-size line
    this.headers = null;
    this.remaining = 0; // body bytes still due; -1: until close; -2: chunked
    this.chunkLeft = 0; // of the current chunk; -1: its closing CRLF is due
    this.parts = [];
  }

  push(chunk) {
    if (this.pending !== null) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    if (this.headers === null) {
      const end = chunk.indexOf(HEAD_END, 0, "latin1");
      if (end < 0) return this.#wait(chunk);
      this.#readHead(chunk.toString("latin1", 0, end));
      chunk = chunk.subarray(end + 4);
      if (this.headers === null) return this.push(chunk); // a 1xx answer: the real one follows
    }
    if (this.remaining === -2) return this.#pushChunked(chunk);
    if (this.remaining === -1 || chunk.length < this.remaining) {
      this.parts.push(chunk);
      this.remaining -= this.remaining === -1 ? 0 : chunk.length;
      return null;
    }
    // Bytes past the answer were never asked for: the connection is not reused then.
    if (chunk.length > this.remaining) this.keepAlive = false;
    this.parts.push(chunk.subarray(0, this.remaining));
    return this.#answer();
  }

  /** The server closed the connection: the answer if it is one read until close, else null. */
  end() {
    return this.headers !== null && this.remaining === -1 ? this.#answer() : null;
  }

  #wait(bytes) {
    if (bytes.length > MAX_HEAD_BYTES) throw protocolError("a head or chunk line too long");
    this.pending = bytes;
    return null;
  }

  #readHead(head) {
    const lines = head.split("\r\n");
    // "HTTP/1.1 200 OK": sliced, not matched (a regular expression costs more to compile).
    const minor = lines[0].slice(0, 9);
    this.status = Number(lines[0].slice(9, 12));
    if ((minor !== "HTTP/1.1 " && minor !== "HTTP/1.0 ") || !(this.status >= 100 && this.status <= 999)) {
      throw protocolError("no status line");
    }
    if (this.status < 200) return;
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      if (colon <= 0) throw protocolError("a malformed header line");
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const connection = (headers.connection ?? "").toLowerCase();
    this.keepAlive = minor === "HTTP/1.1 " ? connection !== "close" : connection === "keep-alive";
    this.headers = headers;
    if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) {
      this.remaining = -2;
    } else if (headers["content-length"] !== undefined) {
      this.remaining = Number(headers["content-length"]);
      if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) throw protocolError("a bad Content-Length");
    } else if (this.status !== 204 && this.status !== 304) {
      this.remaining = -1;
      this.keepAlive = false;
    }
  }

  // Frames of "<hex size>[;ext]\r\n<bytes>\r\n", then "0\r\n", trailers and an empty line.
  #pushChunked(bytes) {
    for (;;) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, bytes.length);
        this.parts.push(bytes.subarray(0, take));
        this.chunkLeft -= take;
        bytes = bytes.subarray(take);
        if (this.chunkLeft > 0) return null;
        this.chunkLeft = -1;
      }
      if (this.chunkLeft === -1) {
        if (bytes.length < 2) return bytes.length ? this.#wait(bytes) : null;
        bytes = bytes.subarray(2);
        this.chunkLeft = 0;
      }
      const lineEnd = bytes.indexOf("\r\n", 0, "latin1");
      if (lineEnd < 0) return this.#wait(bytes);
      const size = parseInt(bytes.toString("latin1", 0, lineEnd), 16);
      if (Number.isNaN(size)) throw protocolError("a bad chunk size");
      if (size === 0) {
        const end = bytes.indexOf(HEAD_END, lineEnd, "latin1");
        if (end < 0) return this.#wait(bytes);
        if (end + 4 < bytes.length) this.keepAlive = false;
        return this.#answer();
      }
      this.chunkLeft = size;
      bytes = bytes.subarray(lineEnd + 2);
    }
  }

  #answer() {
    const body = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    return { status: this.status, headers: this.headers, body, keepAlive: this.keepAlive };
  }
}

/** A connection and the request in flight on it, if any. */
class Connection {
  constructor(pool) {
    this.exchange = null; // { data(chunk), closed(error), timedOut() } while a request is out
    this.socket = pool.connect(
      // Bytes while idle are nothing we asked for: the connection is not safe to reuse.
      (chunk) => (this.exchange ? this.exchange.data(chunk) : this.socket.destroy()),
      (error) => {
        pool.forget(this);
        this.exchange?.closed(error);
      });
  }
}

class ConnectionPool {
  /** At most `maxConnections` at once; an answer may take `timeoutMs` once a request is written. */
  constructor(host, port, maxConnections, timeoutMs) {
    this.host = host;
    this.port = port;
    this.maxConnections = maxConnections;
    this.timeoutMs = timeoutMs;
    this.idle = []; // kept-alive connections, the most recently used last
    this.open = 0; // connections in use or idle
    this.waiting = []; // callbacks for when a connection is released or closed
    this.transport = null; // open(host, port, onData, onClose), chosen at the first request
  }

  /**
   * One GET: `{ status, headers, body }`, or an error with a `code`. A kept-alive connection
   * that the server closed while it was idle (it may, at any moment: an idle timeout, its
   * connection cap) shows as a reset or a close before any answer: the request is then sent
   * once more on a new connection. Only GETs go this way: reads, safe to repeat.
   */
  async get(target, headerLines) {
    const request = `GET ${target} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${headerLines}\r\n`;
    const { connection, reused } = await this.#acquire(false);
    try {
      return await this.#exchange(connection, request);
    } catch (error) {
      if (!reused || !error.beforeAnswer) throw error;
      return this.#exchange((await this.#acquire(true)).connection, request);
    }
  }

  /** Ends the idle connections (a request in flight still finishes). */
  close() {
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
  }

  /**
   * A new connection to sidecache (src/transport.mjs): bytes to `onData(chunk)`, its end to
   * `onClose(error)`. Tests replace it to watch or delay connection attempts.
   */
  connect(onData, onClose) {
    return this.transport(this.host, this.port, onData, onClose);
  }

  forget(connection) {
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    this.open -= 1;
    this.waiting.shift()?.();
  }

  // The most recently used idle connection, else a new one under the cap, else the next freed.
  async #acquire(fresh) {
    this.transport ??= await transportFor(this.host);
    for (;;) {
      if (!fresh && this.idle.length) return { connection: this.idle.pop(), reused: true };
      if (this.open < this.maxConnections) {
        const connection = new Connection(this); // throws for a port that is no port: no slot taken
        this.open += 1;
        return { connection, reused: false };
      }
      await new Promise((resolve) => this.waiting.push(resolve));
    }
  }

  #exchange(connection, request) {
    const { socket } = connection;
    return new Promise((resolve, reject) => {
      const reader = new ResponseReader();
      let answered = false; // a byte of the answer came back
      let settle; // ends the deadline (below)
      const fail = (error, beforeAnswer) => {
        settle();
        connection.exchange = null;
        error.beforeAnswer = beforeAnswer && !answered;
        socket.destroy();
        reject(error);
      };
      const done = (response) => {
        settle();
        connection.exchange = null;
        if (response.keepAlive && !socket.destroyed) {
          socket.unref(); // an idle connection never holds the process open
          this.idle.push(connection);
          this.waiting.shift()?.();
        } else {
          socket.destroy();
        }
        resolve(response);
      };
      const exchange = {
        data: (chunk) => {
          answered = true;
          let response;
          try {
            response = reader.push(chunk);
          } catch (error) {
            return fail(error, false);
          }
          if (response !== null) done(response);
        },
        closed: (error) => {
          const response = reader.end();
          if (response !== null) return done(response);
          fail(error ?? connectionError("ECONNRESET", "sidecache closed the connection before its answer was whole"), true);
        },
        timedOut: () => fail(connectionError("ETIMEDOUT", `no answer in ${this.timeoutMs} ms`), false),
      };
      connection.exchange = exchange;
      socket.ref();
      settle = deadline(this.timeoutMs, () => connection.exchange === exchange && exchange.timedOut());
      socket.write(request);
    });
  }
}


// ---- end of src/wire.mjs ----

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
