// Secrets Manager through sidecache with a stock SDK v3 SecretsManagerClient whose endpoint
// comes only from AWS_ENDPOINT_URL_SECRETS_MANAGER: GetSecretValue and BatchGetSecretValue from
// the cache (shared with the GET endpoints), everything else passed through to moto, and AWS's
// errors as the SDK's modeled exceptions.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretCommand,
} from "@aws-sdk/client-secrets-manager";
import { RUN, recordResponses, startStack } from "./stack.mjs";

const S = `sdk-node/${RUN}`;
const BLOB = Uint8Array.from([...Array.from({ length: 256 }, (_, i) => i), ...Buffer.from(RUN)]);
let stack, moto, sm, seen;
const arns = {};

const xCache = () => seen.last?.headers["x-cache"];
const smCalls = async () => (await stack.stats()).upstream.secretsmanager.calls;
const stringOf = (name) => JSON.stringify({ user: "app", password: `pw-${name}-${RUN}` });

before(async () => {
  stack = await startStack();
  moto = new SecretsManagerClient({ endpoint: stack.motoUrl });
  for (const name of ["string", "shared-a", "shared-b", "batch-a", "batch-b", "describe", "put", "by-arn", "partial-arn",
    "previous", "update", "delete", "ce/with slash"]) {
    const out = await moto.send(new CreateSecretCommand({ Name: `${S}/${name}`, SecretString: stringOf(name) }));
    arns[name] = out.ARN;
  }
  arns.binary = (await moto.send(new CreateSecretCommand({ Name: `${S}/binary`, SecretBinary: BLOB }))).ARN;
  // The client under test: nothing but the environment configures it.
  sm = new SecretsManagerClient({});
  seen = recordResponses(sm);
});

after(async () => {
  sm?.destroy();
  moto?.destroy();
  await stack?.stop();
});

test("the client's endpoint comes from AWS_ENDPOINT_URL_SECRETS_MANAGER alone, and that is sidecache", async () => {
  assert.equal(process.env.AWS_ENDPOINT_URL, undefined);
  assert.equal(process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER, `http://localhost:${stack.port}`);
  await sm.send(new GetSecretValueCommand({ SecretId: `${S}/string` }));
  assert.match(xCache() ?? "", /^(miss|hit)$/, "the answer came from sidecache (X-Cache)");
});

describe("GetSecretValue", () => {
  test("a SecretString, with AWS's fields, from the cache the second time", async () => {
    const first = await sm.send(new GetSecretValueCommand({ SecretId: `${S}/string` }));
    const calls = await smCalls();
    const second = await sm.send(new GetSecretValueCommand({ SecretId: `${S}/string` }));
    assert.equal(xCache(), "hit");
    assert.equal(await smCalls(), calls, "no upstream call for a cached value");
    const direct = await moto.send(new GetSecretValueCommand({ SecretId: `${S}/string` }));
    for (const out of [first, second]) {
      assert.equal(out.Name, `${S}/string`);
      assert.equal(out.ARN, arns.string);
      assert.equal(out.SecretString, stringOf("string"));
      assert.equal(out.SecretBinary, undefined);
      assert.equal(out.VersionId, direct.VersionId);
      assert.deepEqual(out.VersionStages, ["AWSCURRENT"]);
      assert.ok(out.CreatedDate instanceof Date, "CreatedDate is a Date");
      assert.equal(Math.floor(out.CreatedDate.getTime() / 1000), Math.floor(direct.CreatedDate.getTime() / 1000));
      assert.equal(out.$metadata.httpStatusCode, 200);
    }
  });

  test("by ARN", async () => {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: arns.string }));
    assert.equal(out.SecretString, stringOf("string"));
  });

  test("a SecretBinary round-trips as bytes (Uint8Array)", async () => {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: `${S}/binary` }));
    assert.ok(out.SecretBinary instanceof Uint8Array, "SecretBinary is a Uint8Array");
    assert.deepEqual(Buffer.from(out.SecretBinary), Buffer.from(BLOB));
    assert.equal(out.SecretString, undefined);
    assert.equal(out.ARN, arns.binary);
  });

  test("an unknown id is ResourceNotFoundException, the modeled class, status 400", async () => {
    await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: `${S}/no-such-secret` })), (error) => {
      assert.ok(error instanceof ResourceNotFoundException, `${error.name} is a ResourceNotFoundException`);
      assert.equal(error.name, "ResourceNotFoundException");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.ok(error.$metadata.requestId, "x-amzn-RequestId");
      return true;
    });
  });
});

describe("BatchGetSecretValue by SecretIdList", () => {
  test("the values found, an unknown id in Errors", async () => {
    const ids = [`${S}/batch-a`, `${S}/no-such-secret`, `${S}/batch-b`, `${S}/binary`];
    const out = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const byName = Object.fromEntries(out.SecretValues.map((v) => [v.Name, v]));
    assert.deepEqual(Object.keys(byName).sort(), [`${S}/batch-a`, `${S}/batch-b`, `${S}/binary`]);
    assert.equal(byName[`${S}/batch-a`].SecretString, stringOf("batch-a"));
    assert.equal(byName[`${S}/batch-b`].ARN, arns["batch-b"]);
    assert.ok(byName[`${S}/batch-a`].CreatedDate instanceof Date);
    assert.ok(byName[`${S}/binary`].SecretBinary instanceof Uint8Array);
    assert.deepEqual(Buffer.from(byName[`${S}/binary`].SecretBinary), Buffer.from(BLOB));
    assert.equal(out.Errors.length, 1);
    assert.equal(out.Errors[0].SecretId, `${S}/no-such-secret`);
    assert.equal(out.Errors[0].ErrorCode, "ResourceNotFoundException");
    // Each id is cached under its single-get key.
    const calls = await smCalls();
    await sm.send(new GetSecretValueCommand({ SecretId: `${S}/batch-b` }));
    assert.equal(xCache(), "hit");
    assert.equal(await smCalls(), calls);
  });
});

describe("one cache for the SDK and the GET endpoints", () => {
  test("after an SDK read, GET /secretsmanager/get answers X-Cache: hit", async () => {
    const id = `${S}/shared-a`;
    await sm.send(new GetSecretValueCommand({ SecretId: id }));
    const calls = await smCalls();
    const res = await stack.get(`/secretsmanager/get?secretId=${encodeURIComponent(id)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-cache"], "hit");
    assert.equal(res.json().SecretString, stringOf("shared-a"));
    assert.equal(await smCalls(), calls);
  });

  test("after a GET endpoint read, the SDK's GetSecretValue is a hit with no upstream call", async () => {
    const id = `${S}/shared-b`;
    const res = await stack.get(`/secretsmanager/get?secretId=${encodeURIComponent(id)}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-cache"], "miss");
    const calls = await smCalls();
    const out = await sm.send(new GetSecretValueCommand({ SecretId: id }));
    assert.equal(out.SecretString, stringOf("shared-b"));
    assert.equal(xCache(), "hit");
    assert.equal(await smCalls(), calls);
  });
});

describe("everything else passes through to AWS", () => {
  test("DescribeSecret", async () => {
    const out = await sm.send(new DescribeSecretCommand({ SecretId: `${S}/describe` }));
    assert.equal(out.Name, `${S}/describe`);
    assert.equal(out.ARN, arns.describe);
    assert.ok(out.CreatedDate instanceof Date || out.LastChangedDate instanceof Date);
    assert.ok(Object.values(out.VersionIdsToStages ?? {}).some((stages) => stages.includes("AWSCURRENT")));
  });

  test("ListSecrets", async () => {
    const names = [];
    let NextToken;
    do {
      const out = await sm.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [S] }], NextToken }));
      names.push(...out.SecretList.map((s) => s.Name));
      NextToken = out.NextToken;
    } while (NextToken);
    for (const name of ["string", "binary", "describe", "put"]) assert.ok(names.includes(`${S}/${name}`), `${name} listed`);
  });

  test("PutSecretValue, then GetSecretValue: the new value though the old one was cached", async () => {
    const id = `${S}/put`;
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, stringOf("put"));
    await sm.send(new GetSecretValueCommand({ SecretId: id }));
    assert.equal(xCache(), "hit", "the old value is cached");
    const put = await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: `rotated-${RUN}` }));
    assert.equal(typeof put.VersionId, "string");
    const out = await sm.send(new GetSecretValueCommand({ SecretId: id }));
    assert.equal(out.SecretString, `rotated-${RUN}`);
    assert.equal(out.VersionId, put.VersionId);
    const direct = await moto.send(new GetSecretValueCommand({ SecretId: id }));
    assert.equal(direct.SecretString, `rotated-${RUN}`, "the write reached moto");
  });

  test("read by name, PutSecretValue by ARN: the read sees the write", async () => {
    const id = `${S}/by-arn`;
    await sm.send(new GetSecretValueCommand({ SecretId: id }));
    await sm.send(new PutSecretValueCommand({ SecretId: arns["by-arn"], SecretString: `by-arn-new-${RUN}` }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, `by-arn-new-${RUN}`);
    await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: `by-arn-newer-${RUN}` }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: arns["by-arn"] }))).SecretString, `by-arn-newer-${RUN}`);
  });

  test("read by partial ARN (no random suffix), PutSecretValue by name: the read sees the write", async () => {
    const partial = arns["partial-arn"].replace(/-[A-Za-z0-9]{6}$/, "");
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: partial }))).SecretString, stringOf("partial-arn"));
    await sm.send(new PutSecretValueCommand({ SecretId: `${S}/partial-arn`, SecretString: `partial-new-${RUN}` }));
    const out = await sm.send(new GetSecretValueCommand({ SecretId: partial }));
    assert.equal(out.SecretString, `partial-new-${RUN}`, `X-Cache: ${xCache()}`);
  });

  test("AWSPREVIOUS after PutSecretValue: the value that was current", async () => {
    const id = `${S}/previous`;
    await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: `second-${RUN}` }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: "AWSPREVIOUS" }))).SecretString, stringOf("previous"));
    await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: `third-${RUN}` }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id, VersionStage: "AWSPREVIOUS" }))).SecretString, `second-${RUN}`);
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, `third-${RUN}`);
  });

  test("UpdateSecret with a new value: GetSecretValue sees it", async () => {
    const id = `${S}/update`;
    await sm.send(new GetSecretValueCommand({ SecretId: id }));
    await sm.send(new UpdateSecretCommand({ SecretId: id, SecretString: `updated-${RUN}` }));
    assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, `updated-${RUN}`);
  });

  test("DeleteSecret without recovery: GetSecretValue is ResourceNotFoundException", async () => {
    const id = `${S}/delete`;
    await sm.send(new GetSecretValueCommand({ SecretId: id }));
    await sm.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }));
    await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: id })), ResourceNotFoundException);
  });

  test("a pass-through error is relayed as the modeled class", async () => {
    await assert.rejects(sm.send(new DescribeSecretCommand({ SecretId: `${S}/no-such-secret` })), ResourceNotFoundException);
  });
});

describe("Cloud Extensions' GET /secretsmanager/<secretId>", () => {
  for (const [label, path] of [
    ["slashes kept", `/secretsmanager/${S}/ce/with%20slash`],
    ["%2F decoded", `/secretsmanager/${encodeURIComponent(`${S}/ce/with slash`)}`],
  ]) {
    test(label, async () => {
      const res = await stack.get(path);
      assert.equal(res.status, 200, res.text());
      assert.equal(res.json().SecretString, stringOf("ce/with slash"));
      assert.equal(res.json().Name, `${S}/ce/with slash`);
    });
  }
});
