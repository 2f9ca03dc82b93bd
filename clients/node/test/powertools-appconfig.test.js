// Powertools for AWS Lambda (TypeScript)'s own AppConfig Agent client, unchanged, against sidecache:
// getConfig from @aws-lambda-powertools/parameters/appconfig-agent (2.35.0, a devDependency)
// calls http://localhost:$AWS_APPCONFIG_EXTENSION_HTTP_PORT, the agent's port, which
// scripts/test-clients.sh gave sidecache.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "sidecache";
import { app, appConfigCounts, env, run } from "./helpers.js";

let getConfig;
let errors;
try {
  ({ getConfig } = await import("@aws-lambda-powertools/parameters/appconfig-agent"));
  errors = await import("@aws-lambda-powertools/parameters/errors");
} catch {}
const skip = getConfig ? false
  : "@aws-lambda-powertools/parameters is not installed (make clients runs npm ci in clients/node): Powertools' getConfig was not tested";

// getConfig calls the agent only inside Lambda, which it tells by this variable (else it
// returns POWERTOOLS_APPCONFIG_AGENT_RETURN_VALUE): set as Lambda's runtime sets it.
let saved;
before(() => {
  saved = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_APPCONFIG_AGENT_RETURN_VALUE;
});
after(() => {
  if (saved === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = saved;
});

test("Powertools' getConfig: the configuration as text, and as JSON", { skip }, async () => {
  assert.equal(await getConfig("powertools", { application: app, environment: env }), JSON.stringify({ powertools: run }));
  assert.deepEqual(await getConfig("powertools", { application: app, environment: env, transform: "json" }), { powertools: run });
  assert.deepEqual(await getConfig("team/settings", { application: app, environment: env, transform: "json" }), { nested: run });
  assert.equal(await getConfig("encoded", { application: app, environment: env, transform: "binary" }), `binary-${run}`);
});

test("Powertools' getConfig: the application from POWERTOOLS_SERVICE_NAME", { skip }, async () => {
  process.env.POWERTOOLS_SERVICE_NAME = app;
  try {
    assert.deepEqual(await getConfig("powertools", { environment: env, transform: "json" }), { powertools: run });
  } finally {
    delete process.env.POWERTOOLS_SERVICE_NAME;
  }
});

test("Powertools' getConfig: a missing profile is undefined, or ParameterNotFoundError with throwOnMissing", { skip }, async () => {
  assert.equal(await getConfig("absent", { application: app, environment: env }), undefined);
  await assert.rejects(getConfig("absent", { application: app, environment: env, throwOnMissing: true }), errors.ParameterNotFoundError);
});

test("Powertools' getConfig and the package share sidecache's one session and cache", { skip }, async () => {
  await getConfig("powertools", { application: app, environment: env });
  const client = new Client();
  try {
    const { headers, body } = await client.get(`/applications/${app}/environments/${env}/configurations/powertools`);
    assert.equal(body.toString(), JSON.stringify({ powertools: run }));
    assert.equal(headers["x-cache"], "hit");
  } finally {
    client.close();
  }
  const counts = await appConfigCounts("powertools");
  assert.deepEqual([counts.sessions, counts.polls], [1, 1]);
});
