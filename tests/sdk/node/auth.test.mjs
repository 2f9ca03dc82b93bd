// Who may call sidecache's AWS APIs, and what bad input gets: SDK clients with a wrong access
// key id or a wrong secret get the errors AWS gives them, raw requests that are not AWS JSON 1.1
// get AWS's error codes with the right status, the process answers /ping after each, and
// nothing sidecache writes (at log level debug) holds the secret access key, the token or a
// secret value it served.
//
// This file's stack runs with a secret access key of its own (not "testing", which is also the
// access key id, which a log may well name): a leak of the secret is then a string to look for.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { RUN, request, startStack } from "./stack.mjs";

const SECRET_KEY = `sdk-node-secret-${randomBytes(16).toString("hex")}`;
const WRONG_SECRET = `wrong-secret-${randomBytes(16).toString("hex")}`;
const P = `/sdk-node/${RUN}`;
const BUCKET = `sdk-node-auth-${RUN}`.toLowerCase();
const SECRET_VALUE = `secret-value-${randomBytes(12).toString("hex")}`;
const SECURE_VALUE = `secure-value-${randomBytes(12).toString("hex")}`;
let stack;
const clients = [];
const client = (Class, config = {}) => {
  const c = new Class(config);
  clients.push(c);
  return c;
};

before(async () => {
  stack = await startStack({ secretAccessKey: SECRET_KEY, env: { PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: "debug" } });
  const endpoint = stack.motoUrl;
  await client(SSMClient, { endpoint }).send(new PutParameterCommand({ Name: `${P}/plain`, Value: `plain-${RUN}`, Type: "String" }));
  await client(SSMClient, { endpoint }).send(new PutParameterCommand({ Name: `${P}/secure`, Value: SECURE_VALUE, Type: "SecureString" }));
  await client(SecretsManagerClient, { endpoint }).send(new CreateSecretCommand({ Name: `sdk-node/${RUN}/auth`, SecretString: SECRET_VALUE }));
  const s3 = client(S3Client, { endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "object.txt", Body: `object-${RUN}` }));
});

after(async () => {
  for (const c of clients) c.destroy();
  await stack?.stop();
});

const wrongKey = { accessKeyId: "AKIAWRONGWRONGWRONG1", secretAccessKey: SECRET_KEY };
const wrongSecret = { accessKeyId: "testing", secretAccessKey: WRONG_SECRET };
const s3Client = (credentials) => client(S3Client, { endpoint: `http://localhost:${stack.port}`, forcePathStyle: true, credentials });

/** Asserts the promise is refused with `name` (and `status`, when given). */
const refused = (promise, name, status) =>
  assert.rejects(promise, (error) => {
    assert.equal(error.name, name, `${error.name}: ${error.message}`);
    if (status) assert.equal(error.$metadata.httpStatusCode, status);
    return true;
  });

describe("signatures", () => {
  test("the right credentials read (the baseline the refusals below differ from)", async () => {
    const { Parameter } = await client(SSMClient).send(new GetParameterCommand({ Name: `${P}/plain` }));
    assert.equal(Parameter.Value, `plain-${RUN}`);
    const secret = await client(SecretsManagerClient).send(new GetSecretValueCommand({ SecretId: `sdk-node/${RUN}/auth` }));
    assert.equal(secret.SecretString, SECRET_VALUE);
    const secure = await client(SSMClient).send(new GetParameterCommand({ Name: `${P}/secure`, WithDecryption: true }));
    assert.equal(secure.Parameter.Value, SECURE_VALUE);
    const object = await s3Client(undefined).send(new GetObjectCommand({ Bucket: BUCKET, Key: "object.txt" }));
    assert.equal(await object.Body.transformToString(), `object-${RUN}`);
  });

  test("SSM, a wrong access key id: UnrecognizedClientException", async () => {
    await refused(client(SSMClient, { credentials: wrongKey }).send(new GetParameterCommand({ Name: `${P}/plain` })), "UnrecognizedClientException");
  });

  test("SSM, the right key with a wrong secret: InvalidSignatureException", async () => {
    await refused(client(SSMClient, { credentials: wrongSecret }).send(new GetParameterCommand({ Name: `${P}/plain` })), "InvalidSignatureException");
  });

  test("SSM, a pass-through operation with a wrong secret is refused too, and never reaches moto", async () => {
    const Name = `${P}/forged`;
    await refused(client(SSMClient, { credentials: wrongSecret }).send(new PutParameterCommand({ Name, Value: "forged", Type: "String" })), "InvalidSignatureException");
    await assert.rejects(client(SSMClient, { endpoint: stack.motoUrl }).send(new GetParameterCommand({ Name })), (error) => error.name === "ParameterNotFound");
  });

  test("Secrets Manager, a wrong access key id: UnrecognizedClientException", async () => {
    await refused(client(SecretsManagerClient, { credentials: wrongKey }).send(new GetSecretValueCommand({ SecretId: `sdk-node/${RUN}/auth` })), "UnrecognizedClientException");
  });

  test("Secrets Manager, a wrong secret: InvalidSignatureException", async () => {
    await refused(client(SecretsManagerClient, { credentials: wrongSecret }).send(new GetSecretValueCommand({ SecretId: `sdk-node/${RUN}/auth` })), "InvalidSignatureException");
  });

  test("S3, a wrong access key id: InvalidAccessKeyId, 403", async () => {
    await refused(s3Client(wrongKey).send(new GetObjectCommand({ Bucket: BUCKET, Key: "object.txt" })), "InvalidAccessKeyId", 403);
  });

  test("S3, a wrong secret: SignatureDoesNotMatch, 403", async () => {
    await refused(s3Client(wrongSecret).send(new GetObjectCommand({ Bucket: BUCKET, Key: "object.txt" })), "SignatureDoesNotMatch", 403);
  });

  test("S3 HeadObject, a wrong secret: 403", async () => {
    await assert.rejects(s3Client(wrongSecret).send(new HeadObjectCommand({ Bucket: BUCKET, Key: "object.txt" })), (error) => {
      assert.equal(error.$metadata.httpStatusCode, 403);
      return true;
    });
  });
});

describe("bad input on the AWS JSON 1.1 API (raw node:http, every request with a timeout)", () => {
  const JSON11 = "application/x-amz-json-1.1";
  const post = (headers, body) =>
    request(`${stack.url}/`, {
      method: "POST",
      headers: { "X-Aws-Parameters-Secrets-Token": stack.token, ...headers },
      body,
    });
  const errorOf = (res) => {
    assert.match(res.headers["content-type"] ?? "", /json/);
    return res.json().__type;
  };
  const pingStillAnswers = async () => {
    const res = await stack.ping();
    assert.equal(res.status, 200);
    assert.ok(stack.alive(), "sidecache is still running");
  };

  test("the token header is accepted in place of a signature (baseline)", async () => {
    const res = await post({ "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": JSON11 }, JSON.stringify({ Name: `${P}/plain` }));
    assert.equal(res.status, 200);
    assert.equal(res.json().Parameter.Value, `plain-${RUN}`);
  });

  test("malformed JSON: 400 SerializationException", async () => {
    const res = await post({ "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": JSON11 }, '{"Name": "/a"');
    assert.equal(res.status, 400);
    assert.equal(errorOf(res), "SerializationException");
    await pingStillAnswers();
  });

  test("a JSON document of the wrong shape: 400 SerializationException", async () => {
    const res = await post({ "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": JSON11 }, '["not", "an", "object"]');
    assert.equal(res.status, 400);
    assert.equal(errorOf(res), "SerializationException");
    await pingStillAnswers();
  });

  test("an unknown target: 400 UnknownOperationException", async () => {
    for (const target of ["DynamoDB_20120810.ListTables", "AmazonSSM.", "AmazonSSM", "AmazonSSM.Get/Parameter"]) {
      const res = await post({ "X-Amz-Target": target, "Content-Type": JSON11 }, "{}");
      assert.equal(res.status, 400, target);
      assert.equal(errorOf(res), "UnknownOperationException", target);
    }
    await pingStillAnswers();
  });

  test("no Content-Type: 400 SerializationException", async () => {
    const res = await post({ "X-Amz-Target": "AmazonSSM.GetParameter" }, JSON.stringify({ Name: `${P}/plain` }));
    assert.equal(res.status, 400);
    assert.equal(errorOf(res), "SerializationException");
    await pingStillAnswers();
  });

  test("a 2 MiB body: 413", async () => {
    const body = JSON.stringify({ Name: `${P}/plain`, Value: "x".repeat(2 * 1024 * 1024) });
    let res;
    try {
      res = await post({ "X-Amz-Target": "AmazonSSM.PutParameter", "Content-Type": JSON11 }, body);
    } catch (error) {
      // A server may answer 413 and close before the whole body is sent: the client then sees
      // a reset instead of the answer. Not this server's habit; say so if it happens.
      assert.fail(`no 413 answer, the connection failed: ${error.message}`);
    }
    assert.equal(res.status, 413);
    await pingStillAnswers();
  });

  test("X-Forwarded-For: 400, on the AWS API and on the GET endpoints", async () => {
    const res = await post({ "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": JSON11, "X-Forwarded-For": "203.0.113.9" }, JSON.stringify({ Name: `${P}/plain` }));
    assert.equal(res.status, 400);
    const get = await stack.get(`/systemsmanager/parameters/get?name=${encodeURIComponent(`${P}/plain`)}`, { "X-Forwarded-For": "203.0.113.9" });
    assert.equal(get.status, 400);
    await pingStillAnswers();
  });

  test("neither a signature nor the token: MissingAuthenticationTokenException", async () => {
    const res = await request(`${stack.url}/`, {
      method: "POST",
      headers: { "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": JSON11 },
      body: JSON.stringify({ Name: `${P}/plain` }),
    });
    assert.ok(res.status === 400 || res.status === 403, `status ${res.status}`);
    assert.equal(errorOf(res), "MissingAuthenticationTokenException");
    assert.doesNotMatch(res.text(), new RegExp(`plain-${RUN}`));
    await pingStillAnswers();
  });
});

test("sidecache's output never holds the secret access key, the token or a secret value it served", async () => {
  const log = stack.log();
  assert.ok(log.length > 0, "there is a log to look at (level debug)");
  for (const [what, value] of [
    ["the secret access key", SECRET_KEY],
    ["the wrong secret a client signed with", WRONG_SECRET],
    ["the token", stack.token],
    ["a secret's value", SECRET_VALUE],
    ["a SecureString's value", SECURE_VALUE],
  ]) {
    assert.ok(!log.includes(value), `${what} is in sidecache's output`);
  }
});
