// The client's own HTTP/1.1 over node:net, against small servers that misbehave on purpose:
// keep-alive reuse, a connection the server dropped, the start-up retry, timeouts, the answer
// forms, the token order. Each server counts connections and requests, so a test can fail.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import net from "node:net";
import { after, test } from "node:test";
import { Client, Unreachable } from "sidecache";

const servers = [];
after(() => servers.forEach((server) => server.close()));

const answer = (value, extraHeaders = "") => {
  const body = JSON.stringify({ Parameter: { Name: "n", Type: "String", Value: value } });
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
};

/**
 * A server that calls `onRequest(socket, head, { connection, request })` for each request head
 * (numbered from 1, per server and per connection); `connections` counts accepted ones.
 */
async function fakeSidecache(onRequest) {
  const state = { connections: 0, requests: 0, sockets: [] };
  const server = net.createServer((socket) => {
    const connection = ++state.connections;
    state.sockets.push(socket);
    let pending = "";
    let request = 0;
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        state.requests += 1;
        onRequest(socket, head, { connection, request: ++request });
      }
    });
  });
  servers.push(server);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, state, server };
}

const tokenOf = (head) => /^x-aws-parameters-secrets-token: (.*)$/im.exec(head)?.[1];

test("sequential calls reuse one kept-alive connection", async () => {
  const { port, state } = await fakeSidecache((socket, head, { request }) => socket.write(answer(`v${request}`)));
  const client = new Client({ port, token: "t" });
  try {
    for (const expected of ["v1", "v2", "v3"]) assert.equal(await client.parameter("n"), expected);
    assert.equal(state.connections, 1);
  } finally {
    client.close();
  }
});

test("concurrent calls use at most 4 connections, then reuse them", async () => {
  const { port, state } = await fakeSidecache((socket) => socket.write(answer("v")));
  const client = new Client({ port, token: "t" });
  try {
    const values = await Promise.all(Array.from({ length: 12 }, () => client.parameter("n")));
    assert.deepEqual(values, Array(12).fill("v"));
    assert.equal(state.requests, 12);
    assert.ok(state.connections <= 4, `connections: ${state.connections}`);
    const before = state.connections;
    await client.parameter("n");
    assert.equal(state.connections, before, "an idle connection was reused");
  } finally {
    client.close();
  }
});

test("a kept-alive connection the server drops unanswered: the read is sent once more on a new one", async () => {
  // The server answers the first request, then closes that connection when the next one comes
  // on it (as an idle timeout or the connection cap closing it just as the client wrote).
  const { port, state } = await fakeSidecache((socket, head, { connection, request }) => {
    if (connection === 1 && request === 2) socket.destroy();
    else socket.write(answer(`c${connection}`));
  });
  const client = new Client({ port, token: "t" });
  try {
    assert.equal(await client.parameter("n"), "c1");
    assert.equal(await client.parameter("n"), "c2");
    assert.equal(state.connections, 2);
    assert.equal(await client.parameter("n"), "c2", "the new connection is kept alive in turn");
    assert.equal(state.connections, 2);
  } finally {
    client.close();
  }
});

test("a new connection dropped before any answer is not retried: Unreachable", async () => {
  const { port, state } = await fakeSidecache((socket) => socket.destroy());
  const client = new Client({ port, token: "t" });
  try {
    await assert.rejects(client.parameter("n"), (error) => error instanceof Unreachable && error.errorType === "ECONNRESET");
    assert.equal(state.connections, 1);
  } finally {
    client.close();
  }
});

test("an answer with Connection: close is read, and its connection not reused", async () => {
  const { port, state } = await fakeSidecache((socket) => socket.end(answer("v", "Connection: close\r\n")));
  const client = new Client({ port, token: "t" });
  try {
    assert.equal(await client.parameter("n"), "v");
    assert.equal(await client.parameter("n"), "v");
    assert.equal(state.connections, 2);
  } finally {
    client.close();
  }
});

test("chunked answers, answers read until close and split heads are read whole", async () => {
  const body = JSON.stringify({ Parameter: { Name: "n", Type: "StringList", Value: "a,b,c" } });
  const forms = [
    // chunked, in pieces that split the size lines and the data
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", `${(10).toString(16)}\r\n${body.slice(0, 10)}\r`,
      `\n${(body.length - 10).toString(16)}\r\n${body.slice(10)}\r\n0\r\n`, "\r\n"],
    // no length: the body ends when the server closes
    ["HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", body, null],
    // the head split in the middle of a header line, then the body byte by byte
    ["HTTP/1.1 200 OK\r\nContent-Le", `ngth: ${body.length}\r\n\r\n`, ...body.split("")],
  ];
  for (const pieces of forms) {
    const { port } = await fakeSidecache(async (socket) => {
      for (const piece of pieces) {
        if (piece === null) socket.end();
        else await new Promise((resolve) => socket.write(piece, resolve));
      }
    });
    const client = new Client({ port, token: "t" });
    try {
      assert.deepEqual(await client.parameter("n"), ["a", "b", "c"]);
    } finally {
      client.close();
    }
  }
});

test("an answer that never comes is Unreachable ETIMEDOUT after timeoutMs", async () => {
  const { port } = await fakeSidecache(() => {});
  const client = new Client({ port, token: "t", timeoutMs: 200 });
  try {
    await assert.rejects(client.parameter("n"), (error) => error instanceof Unreachable && error.errorType === "ETIMEDOUT");
  } finally {
    client.close();
  }
});

test("the token: an explicit one, else SIDECACHE_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN", async () => {
  const { port } = await fakeSidecache((socket, head) => socket.write(answer(tokenOf(head) ?? "(none)")));
  const saved = { ...process.env };
  const sent = async (env, options = {}) => {
    for (const variable of ["SIDECACHE_TOKEN", "SIDECACHE_TOKEN_FILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]) {
      if (env[variable] === undefined) delete process.env[variable];
      else process.env[variable] = env[variable];
    }
    const client = new Client({ port, ...options });
    try {
      return await client.parameter("n");
    } finally {
      client.close();
    }
  };
  const all = { SIDECACHE_TOKEN: "sidecache", AWS_SESSION_TOKEN: "session", AWS_CONTAINER_AUTHORIZATION_TOKEN: "container" };
  try {
    assert.equal(await sent(all, { token: "explicit" }), "explicit");
    assert.equal(await sent(all), "sidecache");
    assert.equal(await sent({ ...all, SIDECACHE_TOKEN: undefined }), "session");
    assert.equal(await sent({ AWS_CONTAINER_AUTHORIZATION_TOKEN: "container" }), "container");
    assert.equal(await sent({}), "", "no token at all: an empty header, and sidecache's 403 says so");
  } finally {
    process.env = saved;
  }
});

test("a token or a path with a line break is refused before anything is sent", async () => {
  const { port, state } = await fakeSidecache((socket) => socket.write(answer("v")));
  const smuggler = new Client({ port, token: "t\r\nX-Forwarded-For: 1.2.3.4" });
  const client = new Client({ port, token: "t" });
  try {
    await assert.rejects(smuggler.parameter("n"), (error) => error.errorType === "InvalidToken" && !error.message.includes("1.2.3.4"));
    await assert.rejects(client.get("/stats HTTP/1.1\r\nX: y"), (error) => error.errorType === "InvalidPath");
    assert.equal(state.connections, 0);
  } finally {
    smuggler.close();
    client.close();
  }
});

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("nothing listening: Unreachable after the start-up wait", async () => {
  const client = new Client({ port: await freePort(), token: "t", startupWaitMs: 300 });
  await assert.rejects(client.parameter("/x"), (error) => error instanceof Unreachable && error.errorType === "ConnectionRefused");
  client.close();
});

test("an extension still starting: refused connections are retried until it listens", async () => {
  const port = await freePort();
  const client = new Client({ port, token: "t", startupWaitMs: 10000 });
  const server = net.createServer((socket) => socket.once("data", () => socket.write(answer("v"))));
  servers.push(server);
  // The server starts listening only once the client's first connection was refused.
  const connect = client.connections.connect.bind(client.connections);
  let attempts = 0;
  client.connections.connect = (onData, onClose) => {
    attempts += 1;
    if (attempts > 1) return connect(onData, onClose);
    return connect(onData, (error) => {
      server.listen(port, "127.0.0.1");
      onClose(error);
    });
  };
  try {
    assert.equal(await client.parameter("n"), "v");
    assert.ok(attempts >= 2, `attempts: ${attempts}`);
  } finally {
    client.close();
  }
});

test("a kept-alive connection does not hold the process open", async () => {
  const { port } = await fakeSidecache((socket) => socket.write(answer("v")));
  // A handler's process that reads once and never closes its client ends by itself.
  const script = `import("sidecache").then(async ({ Client }) => console.log(await new Client({ port: ${port}, token: "t" }).parameter("n")))`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("..", import.meta.url), timeout: 20000,
  });
  assert.equal(stdout.trim(), "v");
});
