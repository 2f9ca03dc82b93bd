// Built from src/middleware.mjs by tools/build.mjs: edit there, then run `npm run build`.
// A middy-compatible middleware: parameters, secrets, S3 object paths and AppConfig
// configurations from sidecache into the handler's context, as @middy/ssm,
// @middy/secrets-manager and @middy/appconfig-extension do with `setToContext`.
//
//   import middy from "@middy/core";
//   import { sidecache } from "sidecache";     // or: const { sidecache } = require("sidecache");
//   export const handler = middy(baseHandler).use(sidecache({
//     parameters: { dbUrl: "/app/db/url", config: "/app/config" },
//     secrets: { apiKey: "prod/api-key" },
//     appConfig: { settings: { application: "shop", environment: "prod", configuration: "settings" } },
//     maxAge: 60,
//   }));
//   // baseHandler(event, context): context.dbUrl, context.config (parsed JSON), context.apiKey,
//   // context.settings (the configuration, parsed when it is JSON)
//
// Values follow middy's: a StringList is an array, a string that holds JSON ({, [ or ") is
// parsed (middy's jsonSafeParse), a SecretBinary is a Buffer, a parameter name ending in "/"
// is a whole tree { name relative to the path: value }; an AppConfig configuration is parsed
// when its Content-Type is JSON and a string otherwise (as @middy/appconfig-extension gives
// it), or as its `transform` says. There is no in-process cache: every invocation asks
// sidecache (a local hit), so each value is at most `maxAge` seconds old (sidecache's TTL when
// unset; an AppConfig configuration, sidecache's poll interval). All parameters are one
// get-many request.
//
// This module is loaded on the first `sidecache(...)` call (src/client.mjs), not with the
// package: a handler that only uses the client never pays for it. Both faces of the package
// (ESM and CommonJS) load this one ES module, and hand it what it needs from the client.

// Answers carry the bare name: "/app/db:3" (a version) or "/app/db:prod" (a label) is "/app/db".
function withoutSelector(name) {
  const colon = name.lastIndexOf(":");
  return name.startsWith("/") && colon > 0 ? name.slice(0, colon) : name;
}

/** middy's cacheExpiry (ms; -1 forever, 0 never cached) as sidecache's maxAge (s). */
function maxAgeFrom({ maxAge, cacheExpiry }) {
  if (maxAge !== undefined && maxAge !== null) return maxAge;
  if (cacheExpiry === undefined || cacheExpiry === null || cacheExpiry < 0) return undefined;
  return Math.floor(cacheExpiry / 1000);
}

/** Whether a Content-Type is JSON (application/json, application/...+json), as middy tells. */
function isJsonType(contentType) {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * The middleware (`{ before }`) for `options`; `getDefaultClient`, `jsonSafeParse` and
 * `transformAppConfig` are the package's own (src/client.mjs).
 * @param {object} options
 * @param {Record<string, string>} [options.parameters] context key -> SSM name (a path when it ends in "/")
 * @param {Record<string, string>} [options.secrets] context key -> secret id
 * @param {Record<string, string>} [options.objects] context key -> s3://bucket/key (the value is the local path)
 * @param {Record<string, {application: string, environment: string, configuration: string, flag?: string | string[],
 *   transform?: "json" | "binary" | "auto"}>} [options.appConfig] context key -> AppConfig profile (names or ids)
 * @param {number} [options.maxAge] seconds; 0 fetches on every invocation
 * @param {number} [options.cacheExpiry] middy's name, in ms (-1: sidecache's TTL); maxAge wins
 * @param {boolean} [options.setToContext] default true; values always go to request.internal too
 * @param {boolean} [options.disablePrefetch] default false: the first fetch starts when the
 *   middleware is created (during INIT), as middy's own middlewares do
 * @param {import("./index.d.ts").Client} [options.client]
 */
export function createMiddleware(options, { getDefaultClient, jsonSafeParse, transformAppConfig }) {
  const parameters = options.parameters ?? {};
  const secrets = options.secrets ?? {};
  const objects = options.objects ?? {};
  const appConfig = options.appConfig ?? {};
  const maxAge = maxAgeFrom(options);
  const setToContext = options.setToContext ?? true;

  const fetchAll = async () => {
    const client = options.client ?? getDefaultClient();
    const values = {};
    const singles = Object.entries(parameters).filter(([, name]) => !name.endsWith("/"));
    const trees = Object.entries(parameters).filter(([, name]) => name.endsWith("/"));
    const pending = [];
    if (singles.length) {
      pending.push(client.parameters(singles.map(([, name]) => name), { maxAge }).then((found) => {
        for (const [key, name] of singles) values[key] = jsonSafeParse(found[name] ?? found[withoutSelector(name)]);
      }));
    }
    for (const [key, path] of trees) {
      pending.push(client.parametersByPath(path, { recursive: true, maxAge }).then((found) => {
        const tree = {};
        for (const [name, value] of Object.entries(found)) tree[name.slice(path.length)] = jsonSafeParse(value);
        values[key] = tree;
      }));
    }
    for (const [key, id] of Object.entries(secrets)) {
      pending.push(client.secret(id, { maxAge }).then((value) => { values[key] = jsonSafeParse(value); }));
    }
    for (const [key, uri] of Object.entries(objects)) {
      pending.push(client.objectPath(uri, { maxAge }).then((path) => { values[key] = path; }));
    }
    for (const [key, { application, environment, configuration, flag, transform }] of Object.entries(appConfig)) {
      pending.push(client.appConfigInfo(application, environment, configuration, { flags: flag }).then(({ content, contentType }) => {
        if (transform !== undefined && transform !== null) values[key] = transformAppConfig(content, transform, configuration);
        else values[key] = isJsonType(contentType) ? JSON.parse(content.toString("utf8")) : content.toString("utf8");
      }));
    }
    await Promise.all(pending);
    return values;
  };

  // The prefetch's failure is not lost: the first invocation fetches again and throws then.
  let prefetch = options.disablePrefetch ? undefined : fetchAll().catch(() => undefined);

  const before = async (request) => {
    let values;
    if (prefetch) {
      values = await prefetch;
      prefetch = undefined;
    }
    values ??= await fetchAll();
    request.internal ??= {};
    Object.assign(request.internal, values);
    if (setToContext) Object.assign(request.context, values);
  };

  return { before };
}
