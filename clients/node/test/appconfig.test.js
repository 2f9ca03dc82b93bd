// AWS AppConfig through sidecache's main port: getAppConfig, flags, Client.appConfig and the
// middleware's appConfig option, against the fake AppConfig Data scripts/test-clients.sh seeded
// (application clients-node, environment prod). What reached AppConfig Data is the fake's count.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { AccessDenied, BadRequest, Client, getAppConfig, getFlag, isEnabled, NotFound, sidecache, transformAppConfig } from "sidecache";
import { app, appConfigCounts, env, flags, invoke, middyRequest, run } from "./helpers.js";

const client = new Client();
after(() => client.close());
const settings = { feature: true, limit: 5, run };

test("getAppConfig: a Buffer as deployed by default, in either call shape", async () => {
  const value = await getAppConfig({ application: app, environment: env, configuration: "settings" });
  assert.ok(Buffer.isBuffer(value));
  assert.equal(value.toString(), JSON.stringify(settings));
  // Powertools for TypeScript's shape: getAppConfig(name, { environment, application, ... }).
  assert.deepEqual(await getAppConfig("settings", { environment: env, application: app }), value);
  assert.deepEqual(await getAppConfig("bytes", { environment: env, application: app }),
    Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(run)]));
});

test("getAppConfig: Powertools' transforms", async () => {
  assert.deepEqual(await getAppConfig("settings", { environment: env, application: app, transform: "json" }), settings);
  assert.equal(await getAppConfig("encoded", { environment: env, application: app, transform: "binary" }), `binary-${run}`);
  assert.ok(Buffer.isBuffer(await getAppConfig("settings", { environment: env, application: app, transform: "auto" })));
  assert.deepEqual(transformAppConfig(Buffer.from('{"a":1}'), "auto", "conf.JSON"), { a: 1 });
  await assert.rejects(getAppConfig("text", { environment: env, application: app, transform: "json" }), SyntaxError);
  await assert.rejects(getAppConfig("settings", { environment: env, application: app, transform: "yaml" }), TypeError);
});

test("getAppConfig: the application defaults to POWERTOOLS_SERVICE_NAME; a name with / is one segment", async () => {
  process.env.POWERTOOLS_SERVICE_NAME = app;
  try {
    assert.deepEqual(await getAppConfig("team/settings", { environment: env, transform: "json" }), { nested: run });
  } finally {
    delete process.env.POWERTOOLS_SERVICE_NAME;
  }
  await assert.rejects(getAppConfig("settings", { environment: env }), TypeError);
});

test("feature flags: getFlag, several at once, isEnabled true, false and the default", async () => {
  const where = { application: app, environment: env, configuration: "flags" };
  assert.deepEqual(await getFlag("new_ui", where), flags.new_ui);
  assert.deepEqual(await getAppConfig({ ...where, flag: ["new_ui", "old_ui"], transform: "json" }), flags);
  assert.equal(await isEnabled("new_ui", where), true);
  assert.equal(await isEnabled("old_ui", where), false);
  assert.equal(await isEnabled("nope", where), false);
  assert.equal(await isEnabled("nope", { ...where, defaultValue: true }), true);
  await assert.rejects(getFlag("nope", where), (error) => error instanceof NotFound && error.errorType === "FlagNotFound");
});

test("isEnabled throws for what is not a missing flag", async () => {
  await assert.rejects(isEnabled("new_ui", { application: app, environment: env, configuration: "text", defaultValue: true }),
    (error) => error instanceof BadRequest && error.errorType === "InvalidParameter");
  await assert.rejects(isEnabled("new_ui", { application: app, environment: env, configuration: "absent", defaultValue: true }),
    (error) => error instanceof NotFound && error.errorType === "ResourceNotFoundException");
});

test("an unknown application, environment or profile is NotFound", async () => {
  for (const [application, environment, configuration] of [[app, env, "absent"], [app, "staging", "settings"], ["clients-absent", env, "settings"]]) {
    await assert.rejects(getAppConfig({ application, environment, configuration }), (error) => {
      assert.ok(error instanceof NotFound, String(error));
      assert.equal(error.status, 404);
      assert.equal(error.errorType, "ResourceNotFoundException");
      return true;
    });
  }
});

test("reads go to the main port, with the token (so they work with the agent's port off)", async () => {
  const wrong = new Client({ token: "wrong" });
  try {
    await assert.rejects(getAppConfig({ application: app, environment: env, configuration: "settings", client: wrong }), AccessDenied);
  } finally {
    wrong.close();
  }
});

test("the second read is sidecache's, not AppConfig's, whatever maxAge and forceFetch say", async () => {
  assert.equal((await appConfigCounts("counted")).polls, 0);
  const first = await getAppConfig("counted", { environment: env, application: app, client });
  for (const options of [{}, { forceFetch: true }, { maxAge: 0 }]) {
    assert.deepEqual(await getAppConfig("counted", { environment: env, application: app, client, ...options }), first);
  }
  const { headers } = await client.get(`/applications/${app}/environments/${env}/configurations/counted`);
  assert.equal(headers["x-cache"], "hit");
  const counts = await appConfigCounts("counted");
  assert.deepEqual([counts.sessions, counts.polls], [1, 1]);
});

test("Client.appConfig and appConfigInfo", async () => {
  assert.equal((await client.appConfig(app, env, "text")).toString(), `hello node ${run}`);
  assert.deepEqual(await client.appConfigInfo(app, env, "settings"), {
    content: Buffer.from(JSON.stringify(settings)), contentType: "application/json", versionLabel: `v1-${run}`, version: 1,
  });
  assert.equal((await client.appConfigInfo(app, env, "text")).versionLabel, null);
  assert.deepEqual(JSON.parse(await client.appConfig(app, env, "flags", { flags: "old_ui" })), flags.old_ui);
  await assert.rejects(client.appConfig(app, "", "settings"), TypeError);
});

test("middleware: appConfig profiles in the context, parsed by Content-Type or as transformed", async () => {
  const middleware = sidecache({
    appConfig: {
      settings: { application: app, environment: env, configuration: "middleware" },
      text: { application: app, environment: env, configuration: "text" },
      newUi: { application: app, environment: env, configuration: "flags", flag: "new_ui" },
      decoded: { application: app, environment: env, configuration: "encoded", transform: "binary" },
    },
    disablePrefetch: true,
    client,
  });
  const handler = async (event, context) => ({ settings: context.settings, text: context.text, newUi: context.newUi, decoded: context.decoded });
  const expected = { settings: { middleware: run }, text: `hello node ${run}`, newUi: flags.new_ui, decoded: `binary-${run}` };
  const request = middyRequest();
  assert.deepEqual(await invoke(handler, [middleware], request), expected);
  assert.deepEqual(request.internal.settings, { middleware: run });
  const polls = (await appConfigCounts("middleware")).polls;
  assert.deepEqual(await invoke(handler, [middleware]), expected);
  assert.equal((await appConfigCounts("middleware")).polls, polls, "the second invocation made no poll");
  assert.equal(polls, 1);
});

test("middleware: a missing profile fails the invocation with NotFound", async () => {
  const middleware = sidecache({ appConfig: { gone: { application: app, environment: env, configuration: "absent" } }, client });
  await assert.rejects(invoke(async () => "ran", [middleware]), NotFound);
});
