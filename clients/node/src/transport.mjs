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

export { transportFor, isIPv4, HANDLE_MAJORS };
