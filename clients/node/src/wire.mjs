// HTTP/1.1 GETs to sidecache over kept-alive connections (src/transport.mjs opens them).
//
// Not node:http: sidecache is on loopback and answers HTTP/1.1 with Content-Length, so a request
// is one write and an answer one or two reads. node:http's parser, agent and outgoing-message
// machinery cost more CPU at a cold start than everything else the client does
// (docs/clients-node.md, "Cold start"). Chunked answers and answers read until close are
// understood too, so that a proxy in between cannot confuse the reader.
import { transportFor } from "./transport.mjs";

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

export { ConnectionPool, ResponseReader };
