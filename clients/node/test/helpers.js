// What scripts/test-clients.sh started and seeded for this suite (under /clients/node/).
import assert from "node:assert/strict";
import { Client } from "sidecache";

for (const name of ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SIDECACHE_TOKEN", "CLIENTS_RUN_ID", "SIDECACHE_S3_DIR", "CLIENTS_BUCKET",
  "FAKE_APPCONFIG_CONTROL", "AWS_APPCONFIG_EXTENSION_HTTP_PORT"]) {
  assert.ok(process.env[name], `${name} is unset: these tests need a live sidecache on moto; run scripts/test-clients.sh`);
}

export const run = process.env.CLIENTS_RUN_ID;
export const bucket = process.env.CLIENTS_BUCKET;
export const s3Dir = process.env.SIDECACHE_S3_DIR;
export const name = (suffix) => `/clients/node/${suffix}`;
// AppConfig: this suite's application and environment (scripts/test-clients.sh deployed its profiles).
export const app = "clients-node";
export const env = "prod";
export const flags = { new_ui: { enabled: true, colors: 3, run }, old_ui: { enabled: false } };

/**
 * The fake AppConfig Data's counts for one profile of this suite (tests/src/bin/fake_appconfig.rs):
 * { sessions, polls, deliveries, ... }; a poll that reached AppConfig Data counts in `polls`.
 */
export async function appConfigCounts(profile) {
  const query = new URLSearchParams({ application: app, environment: env, profile });
  const answer = await fetch(`${process.env.FAKE_APPCONFIG_CONTROL}/counts?${query}`);
  assert.equal(answer.status, 200);
  return answer.json();
}

/** sidecache's upstream call count for a service, from /stats: a delta of 0 is a cache hit. */
export async function upstreamCalls(service) {
  const client = new Client();
  try {
    return (await client.stats()).upstream[service].calls;
  } finally {
    client.close();
  }
}

/** A request as middy hands it to a middleware's `before`. */
export const middyRequest = () => ({ event: {}, context: { functionName: "clients-test" }, response: undefined, error: undefined, internal: {} });

/** middy's core in a few lines: run each `before`, then the handler with the same context. */
export const invoke = async (handler, middlewares, request = middyRequest()) => {
  for (const middleware of middlewares) await middleware.before?.(request);
  return handler(request.event, request.context);
};
