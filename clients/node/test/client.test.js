import assert from "node:assert/strict";
import { after, test } from "node:test";
import { AccessDenied, BadRequest, Client, NotFound, SidecacheError } from "sidecache";
import { bucket, name, run, s3Dir, upstreamCalls } from "./helpers.js";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const client = new Client();
after(() => client.close());

test("parameter: String, SecureString decrypted, StringList as an array", async () => {
  assert.equal(await client.parameter(name("greeting")), `hello node ${run}`);
  assert.equal(await client.parameter(name("secure")), `secure-node-${run}`);
  assert.notEqual(await client.parameter(name("secure"), { decrypt: false }), `secure-node-${run}`);
  assert.deepEqual(await client.parameter(name("list")), [`a-${run}`, "b", "c"]);
});

test("parameters: one get-many request, then all from cache", async () => {
  const names = [name("many/x"), name("many/y")];
  const before = await upstreamCalls("ssm");
  const values = await client.parameters(names);
  assert.deepEqual(values, { [names[0]]: `x-${run}`, [names[1]]: `y-${run}` });
  assert.equal((await upstreamCalls("ssm")) - before, 1);
  assert.deepEqual(await client.parameters(names), values);
  assert.equal((await upstreamCalls("ssm")) - before, 1);
});

test("parameters: a missing name is NotFound naming it, or left out with missingOk", async () => {
  const missing = name("does-not-exist");
  await assert.rejects(client.parameters([name("greeting"), missing]), (error) => error instanceof NotFound && error.message.includes(missing));
  assert.deepEqual(await client.parameters([name("greeting"), missing], { missingOk: true }), { [name("greeting")]: `hello node ${run}` });
});

test("parametersByPath: one level, or the whole tree", async () => {
  const tree = name("tree");
  assert.deepEqual(await client.parametersByPath(tree), { [`${tree}/a`]: `a-${run}`, [`${tree}/b`]: `b-${run}` });
  assert.equal((await client.parametersByPath(tree, { recursive: true }))[`${tree}/deep/c`], `c-${run}`);
});

test("a missing parameter is NotFound with status and __type", async () => {
  await assert.rejects(client.parameter(name("nope")), (error) => {
    assert.ok(error instanceof NotFound && error instanceof SidecacheError);
    assert.equal(error.status, 404);
    assert.equal(error.errorType, "ParameterNotFound");
    return true;
  });
});

test("a missing secret and object are NotFound; a wrong token AccessDenied; a bad query BadRequest", async () => {
  await assert.rejects(client.secret("clients/node/nope"), NotFound);
  await assert.rejects(client.objectPath(`s3://${bucket}/node/nope.json`), NotFound);
  const wrong = new Client({ token: "wrong" });
  await assert.rejects(wrong.parameter(name("greeting")), (error) => error instanceof AccessDenied && error.errorType === "InvalidToken");
  wrong.close();
  await assert.rejects(client.getJson("/systemsmanager/parameters/get", { name: "x", bogus: "1" }), (error) => error instanceof BadRequest && error.errorType === "UnknownParameter");
});

test("secret: a string and a binary secret as stored", async () => {
  assert.deepEqual(JSON.parse(await client.secret("clients/node/api")), { user: "app", password: `pw-${run}` });
  const binary = await client.secret("clients/node/blob");
  assert.ok(Buffer.isBuffer(binary));
  assert.deepEqual(binary, Buffer.concat([Buffer.from([...Array(256).keys()]), Buffer.from(run)]));
});

test("objectPath: a file in sidecache's S3 directory", async () => {
  const path = await client.objectPath(`s3://${bucket}/node/config/app-${run}.json`);
  assert.ok(path.startsWith(`${s3Dir}/`), path);
  assert.deepEqual(JSON.parse(await readFile(path, "utf8")), { from: "s3", run });
});

test("maxAge: 0 forces a fetch upstream, a bound the value meets does not", async () => {
  await client.parameter(name("refresh"));
  const before = await upstreamCalls("ssm");
  await client.parameter(name("refresh"), { maxAge: 300 });
  assert.equal(await upstreamCalls("ssm"), before);
  await client.parameter(name("refresh"), { maxAge: 0 });
  assert.equal(await upstreamCalls("ssm"), before + 1);
});

test("the token: SIDECACHE_TOKEN, else AWS_SESSION_TOKEN, else AWS_CONTAINER_AUTHORIZATION_TOKEN", async () => {
  const saved = { ...process.env };
  const readWith = async (env) => {
    for (const variable of ["SIDECACHE_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]) {
      if (env[variable] === undefined) delete process.env[variable];
      else process.env[variable] = env[variable];
    }
    const own = new Client();
    try {
      return await own.parameter(name("greeting"));
    } finally {
      own.close();
    }
  };
  const token = saved.SIDECACHE_TOKEN;
  const value = `hello node ${run}`;
  try {
    assert.equal(await readWith({ SIDECACHE_TOKEN: token, AWS_SESSION_TOKEN: "wrong", AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" }), value);
    assert.equal(await readWith({ AWS_SESSION_TOKEN: token, AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong" }), value);
    await assert.rejects(readWith({ AWS_SESSION_TOKEN: "wrong", AWS_CONTAINER_AUTHORIZATION_TOKEN: token }), AccessDenied);
    assert.equal(await readWith({ AWS_CONTAINER_AUTHORIZATION_TOKEN: token }), value, "SnapStart: no session token");
  } finally {
    process.env = saved;
  }
});

test("the token file: read, and read again when the token was rotated", async () => {
  const saved = { ...process.env };
  const dir = await mkdtemp(join(tmpdir(), "sidecache-token-"));
  const tokenFile = join(dir, "token");
  try {
    await writeFile(tokenFile, "stale-token\n");
    delete process.env.SIDECACHE_TOKEN;
    process.env.SIDECACHE_TOKEN_FILE = tokenFile;
    process.env.AWS_SESSION_TOKEN = "not-the-token";
    const own = new Client();
    await assert.rejects(own.parameter(name("greeting")), AccessDenied);
    await writeFile(tokenFile, `${saved.SIDECACHE_TOKEN}\n`);
    assert.equal(await own.parameter(name("greeting")), `hello node ${run}`);
    own.close();
  } finally {
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
