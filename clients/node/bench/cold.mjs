#!/usr/bin/env node
// What a handler pays at cold start to get its first value: CPU (process.cpuUsage) from just
// before loading the code that reads to the value in hand, in a fresh Node process per sample
// (the process itself already running, as Lambda's runtime is when it loads a handler), against
// a live sidecache with the parameter already cached. Samples of every way are interleaved, so
// a noisy neighbour slows them alike; the medians are compared.
//
//   node clients/node/bench/cold.mjs --port P --token T --name N [--samples 9] [--ways a,b] [--package DIR]
//
// Ways: raw (node:net: connect, one request, Content-Length bytes), sidecache (`import`), http
// (node:http, the AWS docs' snippet), fetch, and in a CommonJS process raw-cjs and
// sidecache-cjs (`require`). --package DIR measures the package at DIR (e.g. an unzipped
// layer's nodejs/node_modules/sidecache) instead of this checkout's. Prints one JSON object.
import { spawnSync } from "node:child_process";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rawRead } from "./raw-read.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ALL_WAYS = ["raw", "sidecache", "http", "fetch", "raw-cjs", "sidecache-cjs"];

function parseArgs(argv) {
  const options = { samples: 9, ways: ALL_WAYS };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === "--port") options.port = Number(value);
    else if (flag === "--token") options.token = value;
    else if (flag === "--name") options.name = value;
    else if (flag === "--samples") options.samples = Number(value);
    else if (flag === "--ways") options.ways = value.split(",");
    else if (flag === "--package") options.package = resolve(value);
    else usage(`unknown option ${flag}`);
  }
  if (!options.port || !options.token || !options.name) usage("--port, --token and --name are required");
  for (const way of options.ways) if (!ALL_WAYS.includes(way)) usage(`unknown way ${way}`);
  if (!(options.samples >= 1)) usage("--samples must be at least 1");
  return options;
}

function usage(problem) {
  console.error(`cold.mjs: ${problem}\nusage: node cold.mjs --port P --token T --name N [--samples 9] [--ways ${ALL_WAYS.join(",")}] [--package DIR]`);
  process.exit(2);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round = (ms) => Math.round(ms * 100) / 100;

const options = parseArgs(process.argv.slice(2));
const target = `/systemsmanager/parameters/get?name=${encodeURIComponent(options.name)}&withDecryption=true`;
// The value must be there, and cached, before anything is measured.
const first = await rawRead(net, options.port, options.token, target).catch((error) => usage(`sidecache on port ${options.port}: ${error.message}`));
if (!JSON.parse(first).Parameter) usage(`no parameter ${options.name} (the answer was an error; wrong --token?)`);

// What a function's environment holds; nothing of the caller's own sidecache settings.
const env = { ...process.env };
for (const name of Object.keys(env)) if (name.startsWith("SIDECACHE_") || name === "NODE_OPTIONS") delete env[name];
Object.assign(env, {
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(options.port),
  AWS_SESSION_TOKEN: options.token,
  SIDECACHE_BENCH_NAME: options.name,
  // Self-reference by package name goes through package.json "exports", as a user's import does.
  SIDECACHE_BENCH_ENTRY: options.package ? pathToFileURL(join(options.package, "src/index.mjs")).href : "sidecache",
  SIDECACHE_BENCH_ENTRY_CJS: options.package ? join(options.package, "src/index.cjs") : "sidecache",
});

const samples = Object.fromEntries(options.ways.map((way) => [way, []]));
for (let round_ = 0; round_ < options.samples; round_++) {
  for (const way of options.ways) {
    const script = join(here, way.endsWith("-cjs") ? "child.cjs" : "child.mjs");
    const child = spawnSync(process.execPath, [script, way], { env, encoding: "utf8" });
    const line = child.stdout.trim().split("\n").pop();
    let sample;
    try {
      sample = JSON.parse(line);
    } catch {
      console.error(`cold.mjs: way ${way} failed:\n${child.stderr}`);
      process.exit(1);
    }
    if (!sample.ok) {
      console.error(`cold.mjs: way ${way} read no value`);
      process.exit(1);
    }
    samples[way].push(sample);
  }
}

const ways = {};
for (const [way, list] of Object.entries(samples)) {
  const cpu = list.map((sample) => sample.cpu_ms);
  ways[way] = {
    context: way.endsWith("-cjs") ? "commonjs" : "esm",
    median_cpu_ms: round(median(cpu)),
    min_cpu_ms: round(Math.min(...cpu)),
    max_cpu_ms: round(Math.max(...cpu)),
    median_wall_ms: round(median(list.map((sample) => sample.wall_ms))),
    cpu_ms: cpu.map(round),
  };
}
const ratio = (way, floor) => (ways[way] && ways[floor] ? Math.round((ways[way].median_cpu_ms / ways[floor].median_cpu_ms) * 100) / 100 : undefined);
console.log(JSON.stringify({
  node: process.version,
  samples: options.samples,
  name: options.name,
  package: options.package ?? dirname(here),
  ways,
  ratios: {
    "sidecache/raw": ratio("sidecache", "raw"),
    "sidecache-cjs/raw-cjs": ratio("sidecache-cjs", "raw-cjs"),
    "http/raw": ratio("http", "raw"),
    "fetch/raw": ratio("fetch", "raw"),
  },
}, null, 2));
