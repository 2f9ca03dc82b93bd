// The stack every test file of this suite runs on: moto (a local AWS) and the real sidecache
// binary on free ports, with the process environment of a Lambda function whose stock AWS SDK
// clients read through sidecache: AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER name
// sidecache, credentials and region come from the environment, and nothing else is configured.
// `node --test` runs each file in a process of its own, so each file has its stack and its env.
//
// The binary is SIDECACHE_BIN (scripts/test-sdk-node.sh passes it), else target/debug/sidecache;
// moto_server is the one `make venv` installs in .venv.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const BIN = resolve(ROOT, process.env.SIDECACHE_BIN || "target/debug/sidecache");
const MOTO = join(ROOT, ".venv/bin/moto_server");
/** Every request this suite makes by hand gives up after this long: nothing hangs. */
export const REQUEST_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 20_000;

/** A name nothing else uses: this run's random id plus a label. */
export const RUN = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;

export function freePort() {
  return new Promise((ok, fail) => {
    const server = net.createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/**
 * A raw HTTP request with a timeout: `{status, headers, body (Buffer), json()}`.
 * `options`: method, headers, body (string or Buffer), timeout.
 */
export function request(url, { method = "GET", headers = {}, body, timeout = REQUEST_TIMEOUT_MS } = {}) {
  return new Promise((ok, fail) => {
    const req = http.request(url, { method, headers, timeout, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", fail);
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        ok({
          status: res.statusCode,
          headers: res.headers,
          body: buf,
          text: () => buf.toString("utf8"),
          json: () => JSON.parse(buf.toString("utf8")),
        });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within ${timeout} ms`)));
    req.on("error", fail);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

// What this process started, gone when it ends however it ends: an uncaught error, or the test
// runner's SIGTERM (a timeout, Ctrl-C), which would otherwise leave moto and sidecache running.
const live = new Set();
const workDirs = new Set();
process.once("exit", () => {
  for (const proc of live) proc.child.kill("SIGKILL");
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));

/** A started child process whose output is kept (stdout and stderr interleaved). */
function launch(command, args, env) {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const out = { text: "", exited: null };
  const keep = (chunk) => { out.text += chunk.toString("utf8"); };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  out.done = new Promise((ok) => {
    child.on("exit", (code, signal) => { out.exited = { code, signal }; ok(out.exited); });
    child.on("error", (error) => { out.text += `\n[spawn error] ${error.message}`; out.exited = { code: -1 }; ok(out.exited); });
  });
  out.child = child;
  live.add(out);
  out.done.then(() => live.delete(out));
  return out;
}

/** Until `url` answers 200, polling; fails at once if the process has exited, or after a deadline. */
async function waitFor(url, proc, what) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exited) throw new Error(`${what} exited (${JSON.stringify(proc.exited)}) before ${url} answered:\n${proc.text}`);
    try {
      const res = await request(url, { timeout: 1000 });
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer 200 within ${START_TIMEOUT_MS} ms:\n${proc.text}`);
    await Promise.race([new Promise((ok) => setTimeout(ok, 50)), proc.done]);
  }
}

async function stopProcess(proc) {
  if (!proc || proc.exited) return;
  proc.child.kill("SIGTERM");
  const killer = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
  await proc.done;
  clearTimeout(killer);
}

/**
 * Starts moto and sidecache and sets this process's environment as a function's would be.
 * `secretAccessKey`: the credentials' secret (both sides), "testing" unless given.
 * Returns `{port, url, motoUrl, token, secretAccessKey, s3Dir, log(), stop(), ...}`.
 */
export async function startStack({ secretAccessKey = "testing", env: extraEnv = {} } = {}) {
  const work = mkdtempSync(join(tmpdir(), "sidecache-sdk-node."));
  workDirs.add(work);
  const [motoPort, port] = [await freePort(), await freePort()];
  const motoUrl = `http://127.0.0.1:${motoPort}`;
  const token = `sdk-node-token-${randomBytes(12).toString("hex")}`;
  const stack = { work, port, motoPort, motoUrl, token, secretAccessKey, s3Dir: join(work, "s3") };

  // The environment both processes and this one share: no session token, no profile, no
  // generic endpoint for the SDK to fall back on.
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (name.startsWith("AWS_") || name.startsWith("SIDECACHE_") || name.startsWith("PARAMETERS_SECRETS_")
      || name === "SSM_PARAMETER_STORE_TTL" || name === "SECRETS_MANAGER_TTL") delete base[name];
  }
  Object.assign(base, {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    // No shared config or credentials file of the machine's user: empty ones.
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    // SDK v3's notice that its 2027 releases need Node.js 22: not this suite's business.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });

  const motoProc = launch(MOTO, ["-H", "127.0.0.1", "-p", String(motoPort)], base);
  stack.moto = motoProc;
  try {
    await waitFor(`${motoUrl}/moto-api/`, motoProc, "moto_server");
    const sidecache = launch(BIN, [], {
      ...base,
      ...extraEnv,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
      SIDECACHE_TOKEN: token,
      AWS_ENDPOINT_URL: motoUrl,
      SIDECACHE_S3_DIR: stack.s3Dir,
    });
    stack.sidecache = sidecache;
    await waitFor(`http://127.0.0.1:${port}/ping`, sidecache, "sidecache");
  } catch (error) {
    await stopProcess(stack.sidecache);
    await stopProcess(motoProc);
    rmSync(work, { recursive: true, force: true });
    workDirs.delete(work);
    throw error;
  }

  // This process: as a function configured for sidecache.
  for (const name of Object.keys(process.env)) if (!(name in base)) delete process.env[name];
  Object.assign(process.env, base, {
    AWS_ENDPOINT_URL_SSM: `http://localhost:${port}`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://localhost:${port}`,
  });

  stack.url = `http://127.0.0.1:${port}`;
  /** sidecache's stdout and stderr so far. */
  stack.log = () => stack.sidecache.text;
  stack.alive = () => !stack.sidecache.exited;
  /** A GET endpoint (or any path) of sidecache with the token header. */
  stack.get = (path, headers = {}) =>
    request(`${stack.url}${path}`, { headers: { "X-Aws-Parameters-Secrets-Token": token, ...headers } });
  stack.stats = async () => {
    const res = await stack.get("/stats");
    if (res.status !== 200) throw new Error(`/stats answered ${res.status}: ${res.text()}`);
    return res.json();
  };
  stack.ping = () => request(`${stack.url}/ping`);
  stack.stop = async () => {
    await stopProcess(stack.sidecache);
    await stopProcess(motoProc);
    rmSync(work, { recursive: true, force: true });
    workDirs.delete(work);
  };
  return stack;
}

/**
 * Records the raw HTTP response of every call a client makes (`client` is any SDK v3 client):
 * `seen.last` is the latest `{statusCode, headers}`, thrown errors included.
 */
export function recordResponses(client) {
  const seen = { last: null, all: [] };
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const result = await next(args);
        const { statusCode, headers } = result.response;
        seen.last = { statusCode, headers };
        seen.all.push(seen.last);
        return result;
      } catch (error) {
        if (error.$response) {
          seen.last = { statusCode: error.$response.statusCode, headers: error.$response.headers };
          seen.all.push(seen.last);
        }
        throw error;
      }
    },
    { step: "deserialize", name: "sidecacheRecordResponses" },
  );
  return seen;
}
