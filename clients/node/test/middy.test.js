// The middleware under middy's own core (@middy/core, a devDependency): what a user runs.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Client, sidecache } from "sidecache";
import { app, appConfigCounts, bucket, env, flags, name, run, s3Dir, upstreamCalls } from "./helpers.js";

let middy;
try {
  middy = (await import("@middy/core")).default;
} catch {}
const skip = middy ? false : "@middy/core is not installed (make clients runs npm install in clients/node): the middleware was tested without middy only";

const client = new Client();
after(() => client.close());

test("under middy: values in the context, the second invocation served from cache", { skip }, async () => {
  const handler = middy(async (event, context) => ({
    greeting: context.greeting, settings: context.settings, blob: context.blob, model: context.model,
  })).use(sidecache({
    parameters: { greeting: name("middy/greeting"), settings: name("middy/settings") },
    secrets: { blob: "clients/node/blob" },
    objects: { model: `s3://${bucket}/node/config/app-${run}.json` },
    maxAge: 300,
    client,
  }));
  const lambdaContext = () => ({ functionName: "clients-test", getRemainingTimeInMillis: () => 3000 });

  const first = await handler({}, lambdaContext());
  const calls = { ssm: await upstreamCalls("ssm"), secretsmanager: await upstreamCalls("secretsmanager"), s3: await upstreamCalls("s3") };
  const second = await handler({}, lambdaContext());
  assert.deepEqual(
    { ssm: await upstreamCalls("ssm"), secretsmanager: await upstreamCalls("secretsmanager"), s3: await upstreamCalls("s3") },
    calls,
    "the second invocation made no upstream call",
  );
  assert.deepEqual(first, second);
  assert.equal(first.greeting, `middy-${run}`);
  assert.deepEqual(first.settings, { middy: run });
  assert.ok(Buffer.isBuffer(first.blob));
  assert.ok(first.model.startsWith(`${s3Dir}/`));
});

test("under middy: AppConfig profiles in the context (the appConfig option), then from sidecache's cache", { skip }, async () => {
  const handler = middy(async (event, context) => ({ settings: context.settings, newUi: context.newUi })).use(sidecache({
    appConfig: {
      settings: { application: app, environment: env, configuration: "middy", transform: "json" },
      newUi: { application: app, environment: env, configuration: "flags", flag: "new_ui" },
    },
    client,
  }));
  const lambdaContext = () => ({ functionName: "clients-test", getRemainingTimeInMillis: () => 3000 });
  const expected = { settings: { middy: run }, newUi: flags.new_ui };
  assert.deepEqual(await handler({}, lambdaContext()), expected);
  assert.deepEqual(await handler({}, lambdaContext()), expected);
  const counts = await appConfigCounts("middy");
  assert.deepEqual([counts.sessions, counts.polls], [1, 1], "one session, one poll: the rest were sidecache's hits");
});
