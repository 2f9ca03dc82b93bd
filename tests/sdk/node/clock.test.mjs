// A client whose clock is off by more than five minutes from sidecache's: sidecache refuses the
// signature with the code and the Date header AWS gives, so that SDK v3 corrects its clock
// offset from that header and its retry succeeds, as it does against AWS. sidecache runs under
// libfaketime ten minutes ahead (wall clock only; Debian's libfaketime, `make faketime`); the
// file is skipped where that library is missing.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { RUN, recordResponses, startStack } from "./stack.mjs";

const AHEAD_MS = 10 * 60 * 1000;
const library = (() => {
  try {
    return readdirSync("/usr/lib").map((d) => join("/usr/lib", d, "faketime/libfaketimeMT.so.1")).find((p) => existsSync(p));
  } catch {
    return undefined;
  }
})();
const skip = library ? false : "libfaketime is not installed (make faketime)";
const P = `/sdk-node/${RUN}`;
const BUCKET = `sdk-node-clock-${RUN}`.toLowerCase();
let stack;
const clients = [];

before(async () => {
  if (skip) return;
  stack = await startStack({
    env: { LD_PRELOAD: library, FAKETIME: `+${AHEAD_MS / 1000}`, DONT_FAKE_MONOTONIC: "1" },
  });
  const endpoint = stack.motoUrl;
  const seed = [new SSMClient({ endpoint }), new SecretsManagerClient({ endpoint }), new S3Client({ endpoint, forcePathStyle: true })];
  clients.push(...seed);
  await seed[0].send(new PutParameterCommand({ Name: `${P}/clock`, Value: `clock-${RUN}`, Type: "String" }));
  await seed[1].send(new CreateSecretCommand({ Name: `sdk-node/${RUN}/clock`, SecretString: `clock-${RUN}` }));
  await seed[2].send(new CreateBucketCommand({ Bucket: BUCKET }));
  await seed[2].send(new PutObjectCommand({ Bucket: BUCKET, Key: "clock.txt", Body: `clock-${RUN}` }));
});

after(async () => {
  for (const c of clients) c.destroy();
  await stack?.stop();
});

/** Sends once with a fresh client: the first attempt refused as `code`, the second served. */
async function correctedOnce(client, command, code, status, read) {
  clients.push(client);
  const seen = recordResponses(client);
  const out = await client.send(command);
  assert.equal(await read(out), `clock-${RUN}`);
  assert.equal(out.$metadata.attempts, 2, "one refusal, then the corrected retry");
  assert.equal(seen.all[0].statusCode, status);
  // AWS JSON 1.1 names the error in a header too; S3 only in its XML body.
  if (seen.all[0].headers["x-amzn-errortype"]) assert.equal(seen.all[0].headers["x-amzn-errortype"], code);
  assert.ok(seen.all[0].headers.date, "the refusal carries a Date header");
  const offset = await client.config.systemClockOffset;
  assert.ok(Math.abs(offset - AHEAD_MS) < 60_000, `the SDK's clock offset is now about +10 min: ${offset} ms`);
  return seen.all[0];
}


test("SSM: InvalidSignatureException (signature expired), then the SDK's corrected retry", { skip }, async () => {
  const first = await correctedOnce(new SSMClient({}), new GetParameterCommand({ Name: `${P}/clock` }), "InvalidSignatureException", 400, (o) => o.Parameter.Value);
  assert.ok(first.headers["x-amzn-errortype"], "x-amzn-ErrorType");
});

test("Secrets Manager: the same", { skip }, async () => {
  await correctedOnce(new SecretsManagerClient({}), new GetSecretValueCommand({ SecretId: `sdk-node/${RUN}/clock` }), "InvalidSignatureException", 400, (o) => o.SecretString);
});

test("S3: RequestTimeTooSkewed (403), then the SDK's corrected retry", { skip }, async () => {
  const s3 = new S3Client({ endpoint: `http://localhost:${stack?.port}`, forcePathStyle: true });
  await correctedOnce(s3, new GetObjectCommand({ Bucket: BUCKET, Key: "clock.txt" }), "RequestTimeTooSkewed", 403, (o) => o.Body.transformToString());
});
