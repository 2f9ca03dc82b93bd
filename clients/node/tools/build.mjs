#!/usr/bin/env node
// Builds what the package loads, dist/, from what we edit, src/:
//   dist/sidecache.mjs   src/client.mjs with src/wire.mjs and src/transport.mjs inlined: one ES module for `import`
//   dist/sidecache.cjs   the same as CommonJS, for `require`
//   dist/middleware.mjs  src/middleware.mjs as it is (both faces import() it on first use)
// One module per loader because each module is ~0.3 ms of CPU at a cold start, and loading
// across loaders 1-2 ms (src/client.mjs's header). Line by line, for the forms these files
// use only; anything else stops the build, naming the line, rather than guess.
//
//   node tools/build.mjs           write dist/
//   node tools/build.mjs --check   exit 1 if dist/ differs from what it would write (the tests run this)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (name) => readFileSync(join(root, "src", name), "utf8");
const header = (from) => `// Built from ${from} by tools/build.mjs: edit there, then run \`npm run build\`.`;

const BUILTIN_IMPORT = /^import (\w+) from "(node:[\w/]+)";$/;
const LOCAL_IMPORT = /^import \{ ([\w, ]+) \} from "\.\/([\w-]+\.mjs)";$/;
const EXPORT_LIST = /^export \{ ([\w, ]+) \};$/;

/** src/client.mjs with each local module it imports inlined in place (recursively, each once); builtin imports on top. */
export function bundle(entry) {
  const imports = new Set();
  const inlined = new Set();
  // The lines of `name` without its imports and export list; `wanted` names it must export.
  const inline = (name, wanted, from) => {
    const out = [];
    read(name).split("\n").forEach((line, i) => {
      const local = LOCAL_IMPORT.exec(line);
      const exported = EXPORT_LIST.exec(line);
      if (BUILTIN_IMPORT.test(line)) {
        imports.add(line);
      } else if (local) {
        if (inlined.has(local[2])) return;
        inlined.add(local[2]);
        out.push(`// ---- src/${local[2]} (inlined) ----`, ...inline(local[2], local[1].split(", "), `src/${name}:${i + 1}`),
          `// ---- end of src/${local[2]} ----`);
      } else if (exported && wanted !== null) {
        const missing = wanted.filter((want) => !exported[1].split(", ").includes(want));
        if (missing.length) throw new Error(`${from}: src/${name} does not export ${missing}`);
      } else if (wanted !== null && /^(import|export)\b/.test(line)) {
        throw new Error(`src/${name}: cannot inline: ${line}`);
      } else {
        out.push(line);
      }
    });
    return out;
  };
  const body = inline(entry, null, null);
  return [header(`src/${entry} and the modules it imports`), ...imports, ...body].join("\n");
}

/** The CommonJS text for a bundle's ES module text. */
export function toCommonJs(source) {
  const out = [`"use strict";`];
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const builtin = BUILTIN_IMPORT.exec(line);
    if (line.includes("import.meta")) throw new Error(`line ${i + 1}: import.meta has no CommonJS form`);
    if (builtin) {
      out.push(`const ${builtin[1]} = require("${builtin[2]}");`);
    } else if (line === "export {") {
      // export { A, B, ... };  ->  module.exports = api;  (the names are the registry's, api's own)
      while (i < lines.length && lines[i] !== "};") i++;
      if (i === lines.length) throw new Error(`"export {" never closes with "};"`);
      out.push("module.exports = api;");
    } else if (/^export default /.test(line)) {
      // CommonJS has no default export: require() gives the whole module.exports.
    } else if (/^(import|export)\b/.test(line)) {
      throw new Error(`line ${i + 1}: no CommonJS form for: ${line}`);
    } else {
      out.push(line);
    }
  }
  return out.join("\n");
}

/** Every file of dist/: { name: text }. */
export function build() {
  const esm = bundle("client.mjs");
  return {
    "sidecache.mjs": esm,
    "sidecache.cjs": toCommonJs(esm),
    "middleware.mjs": [header("src/middleware.mjs"), read("middleware.mjs")].join("\n"),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  const dist = join(root, "dist");
  let stale = 0;
  for (const [name, text] of Object.entries(build())) {
    const path = join(dist, name);
    if (!check) {
      mkdirSync(dist, { recursive: true });
      writeFileSync(path, text);
    } else if ((() => { try { return readFileSync(path, "utf8"); } catch { return ""; } })() !== text) {
      console.error(`dist/${name} is stale: run \`npm run build\` in clients/node`);
      stale += 1;
    }
  }
  process.exitCode = stale ? 1 : 0;
}
