// Resolves bare ES module imports from NODE_PATH, as Lambda's Node.js runtimes (18 and later) do
// for packages in layers (/opt/nodejs/node_modules is on NODE_PATH); plain Node.js looks only in
// node_modules folders above the importing file (https://nodejs.org/api/esm.html#no-node_path).
// A bare name that is not found there is looked up from each NODE_PATH folder in turn, with
// Node's own ES module resolution (package.json "exports", the "import" condition).
//
//   node --import ./lambda-node-path.mjs handler-runner.mjs
//
// Used by test/faces.test.js to load the package as a function with only the layer would; the
// layer's own check (layer/check.sh) can use it the same way.
import { register } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

// Loaded with --import this registers itself; in the hooks thread it only provides `resolve`.
if (isMainThread) register(import.meta.url);

const isBare = (specifier) => !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !isBare(specifier)) throw error;
    for (const dir of (process.env.NODE_PATH ?? "").split(":").filter(Boolean)) {
      // As if imported by a file inside the folder: its node_modules lookup reaches the folder itself.
      const parentURL = pathToFileURL(join(dir, "(NODE_PATH)")).href;
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {}
    }
    throw error;
  }
}
