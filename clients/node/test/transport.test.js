// The two ways src/transport.mjs connects: a libuv TCP handle where Node's internals are the
// ones the tests know (HANDLE_MAJORS), node:net everywhere else. Each case reads a value in a
// fresh Node.js process, as a cold start does, and asks that process whether it loaded
// node:net: a case fails if the read goes the other way, or if anything is printed to stderr
// (a deprecation warning would be).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import net from "node:net";
import { AsyncLocalStorage } from "node:async_hooks";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { HANDLE_MAJORS, isIPv4, transportFor } from "../src/transport.mjs";
import { Client, Unreachable } from "sidecache";

const handlesHere = HANDLE_MAJORS.includes(Number(process.versions.node.split(".")[0]));

// Answers every request head with one parameter value; `heads` collects the heads' lengths.
const heads = [];
const server = net.createServer((socket) => {
  let pending = "";
  socket.on("data", (chunk) => {
    pending += chunk.toString("latin1");
    for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
      heads.push(end);
      pending = pending.slice(end + 4);
      const body = JSON.stringify({ Parameter: { Name: "n", Type: "String", Value: "v" } });
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
after(() => server.close());

/** A port nothing listens on (one just bound and released). */
async function closedPort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port: free } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

/** In a new process: read "n" with `new Client({ host })`; what it read and whether node:net loaded. */
async function readInChild({ face = "import", host = "127.0.0.1", nodeArgs = [], env = {} } = {}) {
  const read = `const v = await new Client({ port: ${port}, host: "${host}", token: "t" }).parameter("n");
    console.log(JSON.stringify({ v, net: process.moduleLoadList.includes("NativeModule net") }));`;
  const script = face === "import"
    ? `const { Client } = await import("sidecache"); ${read}`
    : `const { Client } = require("sidecache"); (async () => { ${read} })();`;
  const { stdout, stderr } = await promisify(execFile)(process.execPath,
    [...nodeArgs, face === "import" ? "--input-type=module" : "--input-type=commonjs", "-e", script],
    { cwd: new URL("..", import.meta.url), env: { ...process.env, SIDECACHE_CLIENT_TRANSPORT: "", ...env }, timeout: 20000 });
  assert.equal(stderr, "", "the child printed to stderr");
  return JSON.parse(stdout);
}

test("a cold read from either face goes on a libuv handle: node:net is never loaded", { skip: !handlesHere && "not a handle major" }, async () => {
  assert.deepEqual(await readInChild({ face: "import" }), { v: "v", net: false });
  assert.deepEqual(await readInChild({ face: "require" }), { v: "v", net: false });
});

test("SIDECACHE_CLIENT_TRANSPORT=net reads through node:net", async () => {
  assert.deepEqual(await readInChild({ env: { SIDECACHE_CLIENT_TRANSPORT: "net" } }), { v: "v", net: true });
});

test("under --pending-deprecation: node:net, and no deprecation warning", async () => {
  assert.deepEqual(await readInChild({ nodeArgs: ["--pending-deprecation"] }), { v: "v", net: true });
  assert.deepEqual(await readInChild({ env: { NODE_PENDING_DEPRECATION: "1" } }), { v: "v", net: true });
});

test("under the permission model, which forbids process.binding: node:net", async () => {
  const major = Number(process.versions.node.split(".")[0]);
  const flags = [major >= 22 ? "--permission" : "--experimental-permission", "--allow-fs-read=*",
    ...(major >= 25 ? ["--allow-net"] : []), // from 25 on, the model covers the network too
    "--no-warnings"]; // Node 20 calls its permission model experimental, on stderr
  assert.deepEqual(await readInChild({ nodeArgs: flags }), { v: "v", net: true });
});

test("a host name goes through node:net, which resolves it (a handle does no DNS)", async () => {
  assert.deepEqual(await readInChild({ host: "localhost" }), { v: "v", net: true });
});

test("a request too big to write at once completes on the handle too", async () => {
  // 8 MB of name: more than a loopback socket's send buffer, so libuv queues the write and
  // reports it later (the asynchronous write path), on either transport.
  const client = new Client({ port, token: "t" });
  try {
    const name = "x".repeat(8 * 1024 * 1024);
    assert.equal(await client.parameter(name), "v");
    assert.ok(heads.at(-1) > name.length, `the server got a head of ${heads.at(-1)} bytes`);
    assert.equal(await client.parameter("n"), "v", "the connection serves the next request");
  } finally {
    client.close();
  }
});

test("AsyncLocalStorage context is the caller's after each read (concurrent callers)", async () => {
  const storage = new AsyncLocalStorage();
  const client = new Client({ port, token: "t" });
  try {
    const seen = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => storage.run({ id }, async () => {
      await client.parameter("n");
      await client.parameter("n");
      return storage.getStore()?.id;
    })));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  } finally {
    client.close();
  }
});

test("a port that is no port is an error, not a crash, on either transport", { timeout: 10000 }, async () => {
  for (const bad of ["not-a-port", -1, 65536, 1.5]) {
    const client = new Client({ port: bad, token: "t", startupWaitMs: 0 });
    // More calls than the pool has connections: a failed connect must not keep its slot.
    for (let call = 0; call < 6; call++) {
      await assert.rejects(client.parameter("n"), (error) => error instanceof Unreachable && error.errorType === "ERR_SOCKET_BAD_PORT", String(bad));
    }
    client.close();
  }
});

test("a connection destroyed while connecting ends once; a refused one reports ECONNREFUSED", async () => {
  const open = await transportFor("127.0.0.1");
  const ends = [];
  for (let i = 0; i < 20; i++) {
    let count = 0;
    ends.push(new Promise((resolve) => {
      const connection = open("127.0.0.1", port, () => assert.fail("no bytes were asked for"), (error) => resolve([++count, error]));
      connection.write("GET / HTTP/1.1\r\n\r\n"); // queued until connected: never sent
      connection.destroy();
      connection.destroy();
      connection.write("more");
      connection.ref();
    }));
  }
  assert.deepEqual(await Promise.all(ends), Array(20).fill([1, null]));
  const nobody = await closedPort();
  const refused = await new Promise((resolve) => open("127.0.0.1", nobody, () => {}, resolve));
  assert.equal(refused.code, "ECONNREFUSED");
});

test("isIPv4: dotted IPv4 addresses only, as libuv parses them", () => {
  for (const host of ["127.0.0.1", "0.0.0.0", "10.1.2.255", "169.254.170.2"]) assert.ok(isIPv4(host), host);
  for (const host of [undefined, 127, "localhost", "::1", "127.0.0", "127.0.0.1.1", "256.0.0.1", "127.0.0.01", "1.2.3.-4", "1.2.3.4 ", "1..2.3", "0x7f.0.0.1", ""]) {
    assert.ok(!isIPv4(host), host);
  }
});
