// Resolves bare ES module imports the way Lambda's Node.js runtimes do, for layer/check.sh.
//
// Node itself never consults NODE_PATH for `import` (only `require` does), so an ES module handler
// in /var/task could not import a package from a layer's /opt/nodejs/node_modules. AWS's
// Node.js 18.x runtime announcement (and every runtime since) says: "The Node.js 18.x runtime for
// Lambda searches the folders listed in NODE_PATH when loading ES modules." This hook does that
// here: a bare specifier that Node's own resolution (node_modules folders above the importing
// file) cannot find is resolved again from each NODE_PATH folder, in order.
//
//   node --import ./layer/lambda_esm_resolve.mjs handler.mjs      (NODE_PATH set as Lambda sets it)
import { register } from "node:module";
import { join, delimiter } from "node:path";
import { pathToFileURL } from "node:url";

const folders = (process.env.NODE_PATH ?? "").split(delimiter).filter(Boolean);

// Registered as data, so the hook needs no file of its own.
const hooks = `
const folders = ${JSON.stringify(folders.map((dir) => pathToFileURL(join(dir, "..", "_")).href))};
const bare = (specifier) => !/^(\\.{0,2}\\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier)) throw error;
    // parentURL "<folder>/../_": Node's search then starts in <folder> itself, the parent's
    // node_modules (a layer's NODE_PATH folders all end in node_modules), before going upward.
    for (const parentURL of folders) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch (retry) {
        if (retry?.code !== "ERR_MODULE_NOT_FOUND") throw retry;
      }
    }
    throw error;
  }
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
