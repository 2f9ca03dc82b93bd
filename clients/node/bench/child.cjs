// One sample of cold.mjs in a CommonJS process (as a `.cjs` / `exports.handler` handler is
// loaded): CPU and wall time from just before require() to the first value in hand.
// Usage: node child.cjs WAY   run by cold.mjs from a folder with node_modules/sidecache, and
// SIDECACHE_BENCH_* set; prints one JSON line.
"use strict";

async function main() {
  const way = process.argv[2];
  const { SIDECACHE_BENCH_NAME: name, SIDECACHE_BENCH_ENTRY_CJS_PATH: entryPath } = process.env;
  const port = Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT);
  const token = process.env.AWS_SESSION_TOKEN;
  const target = `/systemsmanager/parameters/get?name=${encodeURIComponent(name)}&withDecryption=true`;
  // The same floor as child.mjs's, loaded before the clock starts (it loads nothing itself).
  const { rawRead } = await import("./raw-read.mjs");

  const ways = {
    "raw-cjs": async () => JSON.parse(await rawRead(require("node:net"), port, token, target)).Parameter.Value,
    // the same read from a package of its own by name: with "exports", and with only "main"
    "floor-cjs": async () => JSON.parse(await require("sidecache-floor").rawRead(require("node:net"), port, token, target)).Parameter.Value,
    "floor-main-cjs": async () => JSON.parse(await require("sidecache-floor-main").rawRead(require("node:net"), port, token, target)).Parameter.Value,
    "sidecache-cjs": async () => {
      const { Client } = require("sidecache");
      return new Client().parameter(name);
    },
    // by file path: no package-name resolution
    "sidecache-cjs-path": async () => {
      const { Client } = require(entryPath);
      return new Client().parameter(name);
    },
  };

  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const value = await ways[way]();
  const used = process.cpuUsage(cpu);
  const wall = process.hrtime.bigint() - started;
  console.log(JSON.stringify({ way, cpu_ms: (used.user + used.system) / 1000, wall_ms: Number(wall) / 1e6, ok: typeof value === "string" || Array.isArray(value) }));
}

main().catch((error) => {
  console.error(`child.cjs: ${error.message}`);
  process.exitCode = 1;
});
