#!/usr/bin/env node
// What a handler pays at cold start to get its first value: CPU (process.cpuUsage) from just
// before loading the code that reads to the value in hand, in a fresh Node process per sample
// (the process itself already running, as Lambda's runtime is when it loads a handler), against
// a live sidecache with the parameter already cached. Samples of every way are interleaved, so
// a noisy neighbour slows them alike; the medians are compared.
//
//   node clients/node/bench/cold.mjs --port P --token T --name N [--samples 9] [--ways a,b]
//                                    [--package DIR] [--baseline DIR]
//
// Ways: raw (node:net: connect, one request, Content-Length bytes), sidecache (`import
// "sidecache"`), http (node:http, the AWS docs' snippet), fetch, and in a CommonJS process
// raw-cjs and sidecache-cjs (`require("sidecache")`); sidecache-path and sidecache-cjs-path load
// the same files by path, which shows apart what resolving the package's name costs Node.
// floor and floor-cjs are the raw read itself inside a package of its own that has the same
// kind of "exports" map (an `import` and a `require` file): what any dual package costs by
// name, before its own code; floor-main-cjs the same package with only "main" (no "exports"),
// which only CommonJS can use without crossing loaders.
// --package DIR measures the package at DIR (e.g. an unzipped layer's
// nodejs/node_modules/sidecache) instead of this checkout's. --baseline DIR adds the way
// `baseline`: another version's package (e.g. `git archive <commit> clients/node`), imported as
// `sidecache` is, and `baseline-cjs`: the same required as `sidecache-cjs` is. Prints one JSON object.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rawRead } from "./raw-read.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ALL_WAYS = ["raw", "floor", "sidecache", "sidecache-path", "http", "fetch", "raw-cjs", "floor-cjs", "floor-main-cjs", "sidecache-cjs", "sidecache-cjs-path"];

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
    else if (flag === "--baseline") options.baseline = resolve(value);
    else usage(`unknown option ${flag}`);
  }
  if (!options.port || !options.token || !options.name) usage("--port, --token and --name are required");
  if (options.baseline) options.ways = [...options.ways, "baseline", "baseline-cjs"];
  for (const way of options.ways) if (!ALL_WAYS.includes(way) && !way.startsWith("baseline")) usage(`unknown way ${way}`);
  if (!(options.samples >= 1)) usage("--samples must be at least 1");
  return options;
}

function usage(problem) {
  console.error(`cold.mjs: ${problem}\nusage: node cold.mjs --port P --token T --name N [--samples 9] [--ways ${ALL_WAYS.join(",")}] [--package DIR] [--baseline DIR]`);
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

const packageDir = options.package ?? dirname(here);

// Each package is measured from a function folder of its own, as deployed: the children's
// scripts beside node_modules/sidecache (a link to the package), so that `import "sidecache"`
// and `require("sidecache")` resolve through node_modules and the package's "exports".
const scratch = mkdtempSync(join(tmpdir(), "sidecache-cold-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
function functionFolder(label, dir) {
  const folder = join(scratch, label);
  mkdirSync(join(folder, "node_modules"), { recursive: true });
  symlinkSync(dir, join(folder, "node_modules", "sidecache"), "dir");
  for (const file of ["child.mjs", "child.cjs", "raw-read.mjs"]) copyFileSync(join(here, file), join(folder, file));
  return folder;
}
const folders = { current: functionFolder("current", packageDir) };
// The floor packages: raw-read.mjs as the `import` face, the same function as CommonJS; linked
// into node_modules as the package measured is, so that both pay the same for the link.
function floorPackage(name, manifest) {
  const dir = join(scratch, name);
  mkdirSync(dir);
  symlinkSync(dir, join(folders.current, "node_modules", name), "dir");
  const source = readFileSync(join(here, "raw-read.mjs"), "utf8");
  writeFileSync(join(dir, "floor.mjs"), source);
  writeFileSync(join(dir, "floor.cjs"), `"use strict";\n${source.replace("export function rawRead", "function rawRead")}\nmodule.exports = { rawRead };\n`);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version: "0.0.0", ...manifest }));
}
floorPackage("sidecache-floor", { type: "module", exports: { import: "./floor.mjs", require: "./floor.cjs" } });
floorPackage("sidecache-floor-main", { main: "./floor.cjs" });
if (options.baseline) folders.baseline = functionFolder("baseline", options.baseline);

// What a function's environment holds; nothing of the caller's own sidecache settings.
const env = { ...process.env };
for (const name of Object.keys(env)) if (name.startsWith("SIDECACHE_") || name === "NODE_OPTIONS" || name === "NODE_PATH") delete env[name];
Object.assign(env, {
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(options.port),
  AWS_SESSION_TOKEN: options.token,
  SIDECACHE_BENCH_NAME: options.name,
  SIDECACHE_BENCH_ENTRY_PATH: pathToFileURL(join(packageDir, "dist/sidecache.mjs")).href,
  SIDECACHE_BENCH_ENTRY_CJS_PATH: join(packageDir, "dist/sidecache.cjs"),
});

const samples = Object.fromEntries(options.ways.map((way) => [way, []]));
for (let round_ = 0; round_ < options.samples; round_++) {
  for (const way of options.ways) {
    // The baseline ways import (require) the other package as the way `sidecache` (`sidecache-cjs`) does.
    const folder = way.startsWith("baseline") ? folders.baseline : folders.current;
    const script = join(folder, way.endsWith("-cjs") || way.endsWith("-cjs-path") ? "child.cjs" : "child.mjs");
    const childWay = way === "baseline" ? "sidecache" : way === "baseline-cjs" ? "sidecache-cjs" : way;
    const child = spawnSync(process.execPath, [script, childWay], { env, cwd: folder, encoding: "utf8" });
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
    context: way.includes("-cjs") ? "commonjs" : "esm",
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
  package: packageDir,
  ways,
  ratios: {
    "floor/raw": ratio("floor", "raw"),
    "sidecache/raw": ratio("sidecache", "raw"),
    "sidecache/floor": ratio("sidecache", "floor"),
    "baseline/raw": ratio("baseline", "raw"),
    "baseline-cjs/raw-cjs": ratio("baseline-cjs", "raw-cjs"),
    "sidecache-path/raw": ratio("sidecache-path", "raw"),
    "floor-cjs/raw-cjs": ratio("floor-cjs", "raw-cjs"),
    "floor-main-cjs/raw-cjs": ratio("floor-main-cjs", "raw-cjs"),
    "sidecache-cjs/raw-cjs": ratio("sidecache-cjs", "raw-cjs"),
    "sidecache-cjs/floor-cjs": ratio("sidecache-cjs", "floor-cjs"),
    "sidecache-cjs-path/raw-cjs": ratio("sidecache-cjs-path", "raw-cjs"),
    "http/raw": ratio("http", "raw"),
    "fetch/raw": ratio("fetch", "raw"),
  },
}, null, 2));
