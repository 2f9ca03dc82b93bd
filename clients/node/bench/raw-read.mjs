// The floor a client is measured against: connect, write one HTTP/1.1 request, read the head and
// Content-Length bytes of body; no parsing beyond that, no keep-alive, no error handling.
// `net` is passed in so that the caller's measurement includes loading node:net.

/** The body of GET `target` as text. */
export function rawRead(net, port, token, target) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let bytes = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      bytes = Buffer.concat([bytes, chunk]);
      const headEnd = bytes.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.toString("latin1", 0, headEnd));
      if (length && bytes.length >= headEnd + 4 + Number(length[1])) {
        socket.destroy();
        resolve(bytes.toString("utf8", headEnd + 4, headEnd + 4 + Number(length[1])));
      }
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Aws-Parameters-Secrets-Token: ${token}\r\n\r\n`);
  });
}
