// One sample of cold.mjs in an ES module process (as an ESM handler is loaded): CPU and wall
// time from just before loading what reads the value to the first value in hand. Nothing that
// the measured code loads is touched before the clock starts (not even the CommonJS loader).
// Usage: node child.mjs WAY   run by cold.mjs from a folder with node_modules/sidecache, and
// SIDECACHE_BENCH_* set; prints one JSON line.
import { rawRead } from "./raw-read.mjs";

const way = process.argv[2];
const { SIDECACHE_BENCH_NAME: name, SIDECACHE_BENCH_ENTRY_PATH: entryPath } = process.env;
const port = Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT);
const token = process.env.AWS_SESSION_TOKEN;
const target = `/systemsmanager/parameters/get?name=${encodeURIComponent(name)}&withDecryption=true`;

const ways = {
  // connect, one request, Content-Length bytes
  raw: async () => JSON.parse(await rawRead(await import("node:net"), port, token, target)).Parameter.Value,
  // the same read from a package of its own, imported by name through its "exports" (cold.mjs)
  floor: async () => {
    const { rawRead: read } = await import("sidecache-floor");
    return JSON.parse(await read(await import("node:net"), port, token, target)).Parameter.Value;
  },
  // as a new user calls it: port and token from the environment
  sidecache: async () => {
    const { Client } = await import("sidecache");
    return new Client().parameter(name);
  },
  // the same by file URL: no package-name resolution (what "exports" costs Node, shown apart)
  "sidecache-path": async () => {
    const { Client } = await import(entryPath);
    return new Client().parameter(name);
  },
  // the AWS extension docs' snippet: node:http with the token header
  http: async () => {
    const http = await import("node:http");
    return new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: target, headers: { "X-Aws-Parameters-Secrets-Token": token } }, (response) => {
        let text = "";
        response.on("data", (chunk) => { text += chunk; });
        response.on("end", () => resolve(JSON.parse(text).Parameter.Value));
      }).on("error", reject);
    });
  },
  fetch: async () => {
    const response = await fetch(`http://127.0.0.1:${port}${target}`, { headers: { "X-Aws-Parameters-Secrets-Token": token } });
    return (await response.json()).Parameter.Value;
  },
};

const started = process.hrtime.bigint();
const cpu = process.cpuUsage();
const value = await ways[way]();
const used = process.cpuUsage(cpu);
const wall = process.hrtime.bigint() - started;
console.log(JSON.stringify({ way, cpu_ms: (used.user + used.system) / 1000, wall_ms: Number(wall) / 1e6, ok: typeof value === "string" || Array.isArray(value) }));
// Kept-alive connections are unref'd; the process ends by itself.
