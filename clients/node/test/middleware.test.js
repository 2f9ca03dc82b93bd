import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Client, NotFound, sidecache } from "sidecache";
import { bucket, invoke, middyRequest, name, run, s3Dir, upstreamCalls } from "./helpers.js";

const client = new Client();
after(() => client.close());

test("middleware: values in the handler's context, second invocation served from cache", async () => {
  const middleware = sidecache({
    parameters: { db: name("middleware/db"), settings: name("middleware/json"), list: name("list") },
    secrets: { apiKey: "clients/node/middleware" },
    objects: { config: `s3://${bucket}/node/config/app-${run}.json` },
    maxAge: 300,
    disablePrefetch: true,
    client,
  });
  const handler = async (event, context) => ({
    db: context.db, settings: context.settings, list: context.list, apiKey: context.apiKey, config: context.config,
  });
  const ssmBefore = await upstreamCalls("ssm");
  const first = await invoke(handler, [middleware]);
  const ssmAfterFirst = await upstreamCalls("ssm");
  assert.equal(ssmAfterFirst - ssmBefore, 1, "the parameters are one get-many call");
  const smAfterFirst = await upstreamCalls("secretsmanager");
  const request = middyRequest();
  const second = await invoke(handler, [middleware], request);
  assert.equal(await upstreamCalls("ssm"), ssmAfterFirst, "second invocation: no SSM call");
  assert.equal(await upstreamCalls("secretsmanager"), smAfterFirst, "second invocation: no Secrets Manager call");
  assert.deepEqual(first, second);
  assert.equal(first.db, `db-${run}`);
  assert.deepEqual(first.settings, { run }, "JSON text parsed as middy does");
  assert.ok(Array.isArray(first.list));
  assert.deepEqual(first.apiKey, { key: run });
  assert.ok(first.config.startsWith(`${s3Dir}/`));
  assert.equal(request.internal.db, `db-${run}`, "request.internal holds the values too, as in middy");
});

test("middleware: maxAge 0 (or cacheExpiry 0) fetches on every invocation", async () => {
  const handler = async (event, context) => context.greeting;
  for (const options of [{ maxAge: 0 }, { cacheExpiry: 0 }]) {
    const middleware = sidecache({ parameters: { greeting: name("greeting") }, disablePrefetch: true, client, ...options });
    await invoke(handler, [middleware]);
    const before = await upstreamCalls("ssm");
    assert.equal(await invoke(handler, [middleware]), `hello node ${run}`);
    assert.equal(await upstreamCalls("ssm"), before + 1);
  }
});

test("middleware: a path ending in / is the whole tree; setToContext false leaves context alone", async () => {
  const middleware = sidecache({ parameters: { tree: `${name("tree")}/` }, setToContext: false, disablePrefetch: true, client });
  const request = middyRequest();
  await middleware.before(request);
  assert.equal(request.context.tree, undefined);
  assert.deepEqual(request.internal.tree, { a: `a-${run}`, b: `b-${run}`, "deep/c": `c-${run}` });
});

test("middleware: a name with a version selector", async () => {
  const middleware = sidecache({ parameters: { first: `${name("greeting")}:1` }, disablePrefetch: true, client });
  assert.equal(await invoke(async (event, context) => context.first, [middleware]), `hello node ${run}`);
});

test("middleware: prefetch at creation serves the first invocation", async () => {
  const middleware = sidecache({ parameters: { one: name("handler/one") }, client });
  const handler = async (event, context) => context.one;
  assert.equal(await invoke(handler, [middleware]), `one-${run}`);
});

test("middleware: a missing parameter fails the invocation with NotFound", async () => {
  const middleware = sidecache({ parameters: { gone: name("absent") }, client });
  await assert.rejects(invoke(async () => "ran", [middleware]), NotFound);
  await assert.rejects(invoke(async () => "ran", [middleware]), NotFound);
});
