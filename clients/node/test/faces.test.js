// One package, two faces: `import` loads dist/sidecache.mjs, `require` dist/sidecache.cjs, both
// built from src/ (tools/build.mjs). Each face in a process of its own, as a Lambda handler
// loads it from a layer (NODE_PATH=<layer>/nodejs/node_modules), and both in one process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import * as esm from "sidecache";
import { name, run } from "./helpers.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const run_ = promisify(execFile);
let layer; // a function's view: <layer>/nodejs/node_modules/sidecache and <layer>/task/ (its code)

before(async () => {
  layer = await mkdtemp(join(tmpdir(), "sidecache-layer-"));
  await mkdir(join(layer, "nodejs/node_modules"), { recursive: true });
  await mkdir(join(layer, "task"));
  await symlink(packageDir, join(layer, "nodejs/node_modules/sidecache"), "dir");
});
after(() => rm(layer, { recursive: true, force: true }));

/** Runs `handler` (a file in the task folder) as Lambda's runtime would, with only the layer. */
async function invoke(file, source, { esmHook = false } = {}) {
  await writeFile(join(layer, "task", file), source);
  const runner = `const m = await import(${JSON.stringify(join(layer, "task", file))}); ` +
    "console.log(JSON.stringify(await (m.handler ?? m.default.handler)({}, {})));";
  const args = [...(esmHook ? ["--import", fileURLToPath(new URL("./lambda-node-path.mjs", import.meta.url))] : []),
    "--input-type=module", "-e", runner];
  const { stdout } = await run_(process.execPath, args, {
    cwd: join(layer, "task"), env: { ...process.env, NODE_PATH: join(layer, "nodejs/node_modules") }, timeout: 20000,
  });
  return JSON.parse(stdout);
}

test("dist/ is what tools/build.mjs makes from src/", async () => {
  await run_(process.execPath, [join(packageDir, "tools/build.mjs"), "--check"]);
});

test("a CommonJS handler (exports.handler in .cjs and in .js) requires the layer's copy", async () => {
  const source = `const { Client, NotFound } = require("sidecache");
const client = new Client();
exports.handler = async () => ({ value: await client.parameter(${JSON.stringify(name("greeting"))}), notFound: typeof NotFound });`;
  const expected = { value: `hello node ${run}`, notFound: "function" };
  assert.deepEqual(await invoke("handler.cjs", source), expected);
  assert.deepEqual(await invoke("handler.js", source), expected);
});

test("an ES module handler imports the layer's copy as Lambda resolves it (NODE_PATH)", async () => {
  const source = `import { Client } from "sidecache";
const client = new Client();
export const handler = async () => ({ value: await client.parameter(${JSON.stringify(name("greeting"))}) });`;
  assert.deepEqual(await invoke("handler.mjs", source, { esmHook: true }), { value: `hello node ${run}` });
  // Plain Node.js does not search NODE_PATH for `import`: the hook above is what Lambda adds.
  await assert.rejects(invoke("plain.mjs", source), /ERR_MODULE_NOT_FOUND|Cannot find package 'sidecache'/);
});

test("the middleware from either face, loaded on first use", async () => {
  const source = (load) => `${load}
const mw = sidecache({ parameters: { greeting: ${JSON.stringify(name("greeting"))} }, disablePrefetch: true });
const request = { event: {}, context: {}, internal: {} };
export const handler = async () => { await mw.before(request); return request.context; };`;
  const expected = { greeting: `hello node ${run}` };
  assert.deepEqual(await invoke("mw-esm.mjs", source(`import { sidecache } from "sidecache";`), { esmHook: true }), expected);
  const cjs = source(`const { sidecache } = require("sidecache");`).replace("export const handler =", "exports.handler =");
  assert.deepEqual(await invoke("mw-cjs.cjs", cjs), expected);
});

test("both faces in one process: one Client, one set of error classes", async () => {
  const cjs = createRequire(import.meta.url)("sidecache");
  for (const key of ["Client", "NotFound", "SidecacheError", "Unreachable", "getDefaultClient", "sidecache"]) {
    assert.equal(cjs[key], esm[key], key);
  }
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).filter((key) => key !== "default").sort());
  // The subpath the package had before its CommonJS face: the middleware, also as the default export.
  const subpath = await import("sidecache/middleware");
  assert.equal(subpath.default, esm.sidecache);
  assert.equal(createRequire(import.meta.url)("sidecache/middleware").sidecache, esm.sidecache);
  const client = new cjs.Client();
  try {
    await assert.rejects(client.parameter(name("nope")), (error) => error instanceof esm.NotFound && error instanceof esm.SidecacheError);
  } finally {
    client.close();
  }
});

test("both faces in one process, CommonJS first", async () => {
  const script = `const cjs = require("sidecache");
import("sidecache").then((esm) => console.log(cjs.NotFound === esm.NotFound && cjs.Client === esm.Client));`;
  const { stdout } = await run_(process.execPath, ["-e", script], { cwd: packageDir });
  assert.equal(stdout.trim(), "true");
});
