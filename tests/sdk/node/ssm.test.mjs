// SSM Parameter Store through sidecache with a stock SDK v3 SSMClient whose endpoint comes only
// from AWS_ENDPOINT_URL_SSM: reads from the cache (shared with the GET endpoints), writes passed
// through to moto with read-your-writes, AWS's errors as the SDK's modeled exceptions, and AWS
// Systems Manager Cloud Extensions' /parameterstore path.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
  paginateGetParametersByPath,
} from "@aws-sdk/client-ssm";
import { RUN, recordResponses, startStack } from "./stack.mjs";

const P = `/sdk-node/${RUN}`;
let stack, moto, ssm, seen;

const xCache = () => seen.last?.headers["x-cache"];
const ssmCalls = async () => (await stack.stats()).upstream.ssm.calls;
const getEndpoint = (name, query = "") =>
  stack.get(`/systemsmanager/parameters/get?name=${encodeURIComponent(name)}${query}`);

before(async () => {
  stack = await startStack();
  moto = new SSMClient({ endpoint: stack.motoUrl });
  const put = (Name, Value, Type = "String", Overwrite = false) =>
    moto.send(new PutParameterCommand({ Name, Value, Type, Overwrite }));
  await put(`${P}/plain`, `plain-${RUN}`);
  await put(`${P}/versioned`, `v1-${RUN}`);
  await put(`${P}/versioned`, `v2-${RUN}`, "String", true);
  await moto.send(new LabelParameterVersionCommand({ Name: `${P}/versioned`, ParameterVersion: 1, Labels: ["stable"] }));
  await put(`${P}/secure`, `secure-${RUN}`, "SecureString");
  await put(`${P}/list`, `a-${RUN},b,c`, "StringList");
  await put(`${P}/labelled`, `l1-${RUN}`);
  await put(`${P}/labelled`, `l2-${RUN}`, "String", true);
  await moto.send(new LabelParameterVersionCommand({ Name: `${P}/labelled`, ParameterVersion: 1, Labels: ["live"] }));
  for (const n of ["one", "two", "shared-a", "shared-b", "overwrite", "delete", "exists", "ce-one", "ce-two",
    "concurrent", "by-arn", "del-a", "del-b", "grow/a"]) {
    await put(`${P}/${n}`, `${n}-${RUN}`);
  }
  // 25 under /tree: 15 children and 10 grandchildren.
  for (let i = 0; i < 15; i++) await put(`${P}/tree/p${String(i).padStart(2, "0")}`, `p${i}-${RUN}`);
  for (let i = 0; i < 10; i++) await put(`${P}/tree/deep/d${String(i).padStart(2, "0")}`, `d${i}-${RUN}`);
  // The client under test: nothing but the environment configures it.
  ssm = new SSMClient({});
  seen = recordResponses(ssm);
});

after(async () => {
  ssm?.destroy();
  moto?.destroy();
  await stack?.stop();
});

test("the client's endpoint comes from AWS_ENDPOINT_URL_SSM alone, and that is sidecache", async () => {
  assert.equal(process.env.AWS_ENDPOINT_URL, undefined);
  assert.equal(process.env.AWS_ENDPOINT_URL_SSM, `http://localhost:${stack.port}`);
  await ssm.send(new GetParameterCommand({ Name: `${P}/plain` }));
  assert.match(xCache() ?? "", /^(miss|hit)$/, "the answer came from sidecache (X-Cache)");
});

describe("GetParameter", () => {
  test("a plain String, from the cache the second time, with AWS's fields", async () => {
    const first = await ssm.send(new GetParameterCommand({ Name: `${P}/plain` }));
    const calls = await ssmCalls();
    const second = await ssm.send(new GetParameterCommand({ Name: `${P}/plain` }));
    assert.equal(xCache(), "hit");
    assert.equal(await ssmCalls(), calls, "no upstream call for a cached value");
    const direct = (await moto.send(new GetParameterCommand({ Name: `${P}/plain` }))).Parameter;
    for (const { Parameter } of [first, second]) {
      assert.equal(Parameter.Name, `${P}/plain`);
      assert.equal(Parameter.Value, `plain-${RUN}`);
      assert.equal(Parameter.Type, "String");
      assert.equal(Parameter.Version, 1);
      assert.equal(Parameter.ARN, direct.ARN);
      assert.equal(Parameter.DataType, "text");
      assert.ok(Parameter.LastModifiedDate instanceof Date, "LastModifiedDate is a Date");
      assert.equal(Math.floor(Parameter.LastModifiedDate.getTime() / 1000), Math.floor(direct.LastModifiedDate.getTime() / 1000));
    }
    assert.equal(second.$metadata.httpStatusCode, 200);
    assert.ok(second.$metadata.requestId, "x-amzn-RequestId");
  });

  test("a version selector in the name (name:1) gives that version", async () => {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${P}/versioned:1` }));
    assert.equal(Parameter.Value, `v1-${RUN}`);
    assert.equal(Parameter.Version, 1);
    assert.equal(Parameter.Name, `${P}/versioned`);
    assert.equal(Parameter.Selector, ":1");
    const latest = await ssm.send(new GetParameterCommand({ Name: `${P}/versioned` }));
    assert.equal(latest.Parameter.Value, `v2-${RUN}`);
    assert.equal(latest.Parameter.Version, 2);
  });

  test("a label selector (name:stable) gives the labelled version", async () => {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${P}/versioned:stable` }));
    assert.equal(Parameter.Value, `v1-${RUN}`);
    assert.equal(Parameter.Version, 1);
    assert.equal(Parameter.Selector, ":stable");
  });

  test("a version that does not exist (name:99) is ParameterVersionNotFound", async () => {
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: `${P}/versioned:99` })), (error) => {
      assert.ok(error instanceof ParameterVersionNotFound, `${error.name} is a ParameterVersionNotFound`);
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    });
  });

  test("by ARN", async () => {
    const direct = (await moto.send(new GetParameterCommand({ Name: `${P}/plain` }))).Parameter;
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: direct.ARN }));
    assert.equal(Parameter.Value, `plain-${RUN}`);
    assert.equal(Parameter.Name, `${P}/plain`);
  });

  test("30 concurrent reads of one uncached name make one upstream call", async () => {
    const calls = await ssmCalls();
    const answers = await Promise.all(Array.from({ length: 30 }, () => ssm.send(new GetParameterCommand({ Name: `${P}/concurrent` }))));
    assert.deepEqual(new Set(answers.map((a) => a.Parameter.Value)), new Set([`concurrent-${RUN}`]));
    assert.equal(await ssmCalls(), calls + 1);
  });

  test("a SecureString WithDecryption is the plaintext; without, it is not", async () => {
    const clear = await ssm.send(new GetParameterCommand({ Name: `${P}/secure`, WithDecryption: true }));
    assert.equal(clear.Parameter.Type, "SecureString");
    assert.equal(clear.Parameter.Value, `secure-${RUN}`);
    const sealed = await ssm.send(new GetParameterCommand({ Name: `${P}/secure`, WithDecryption: false }));
    assert.equal(sealed.Parameter.Type, "SecureString");
    assert.notEqual(sealed.Parameter.Value, `secure-${RUN}`);
    const motoSealed = await moto.send(new GetParameterCommand({ Name: `${P}/secure`, WithDecryption: false }));
    assert.equal(sealed.Parameter.Value, motoSealed.Parameter.Value);
  });

  test("a StringList is the comma-joined value", async () => {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${P}/list` }));
    assert.equal(Parameter.Type, "StringList");
    assert.equal(Parameter.Value, `a-${RUN},b,c`);
  });

  test("a missing name is ParameterNotFound, the modeled class, status 400", async () => {
    await assert.rejects(ssm.send(new GetParameterCommand({ Name: `${P}/no-such-name` })), (error) => {
      assert.ok(error instanceof ParameterNotFound, `${error.name} is a ParameterNotFound`);
      assert.equal(error.name, "ParameterNotFound");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.ok(error.$metadata.requestId, "x-amzn-RequestId");
      return true;
    });
  });
});

describe("GetParameters", () => {
  test("found names in Parameters, missing ones in InvalidParameters", async () => {
    const names = [`${P}/one`, `${P}/missing-1`, `${P}/two`, `${P}/missing-2`];
    const out = await ssm.send(new GetParametersCommand({ Names: names }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(out.Parameters.map((p) => p.Name).sort(), [`${P}/one`, `${P}/two`]);
    for (const p of out.Parameters) {
      assert.equal(p.Value, `${p.Name.split("/").pop()}-${RUN}`);
      assert.ok(p.LastModifiedDate instanceof Date);
    }
    assert.deepEqual([...out.InvalidParameters].sort(), [`${P}/missing-1`, `${P}/missing-2`]);
    // Each name is cached on its own: a single get of one of them is a hit.
    await ssm.send(new GetParameterCommand({ Name: `${P}/two` }));
    assert.equal(xCache(), "hit");
  });

  test("a name asked twice is answered once, and not also reported invalid", async () => {
    const out = await ssm.send(new GetParametersCommand({ Names: [`${P}/one`, `${P}/one`, `${P}/missing-3`] }));
    assert.deepEqual(out.Parameters.map((p) => p.Name), [`${P}/one`]);
    assert.deepEqual(out.InvalidParameters, [`${P}/missing-3`]);
  });

  test("more than 10 names is a ValidationException, as AWS answers", async () => {
    const names = Array.from({ length: 11 }, (_, i) => `${P}/eleven-${i}`);
    await assert.rejects(ssm.send(new GetParametersCommand({ Names: names })), (error) => {
      assert.equal(error.name, "ValidationException");
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    });
  });
});

describe("GetParametersByPath", () => {
  const tree = `${P}/tree`;
  const all = [
    ...Array.from({ length: 15 }, (_, i) => `${tree}/p${String(i).padStart(2, "0")}`),
    ...Array.from({ length: 10 }, (_, i) => `${tree}/deep/d${String(i).padStart(2, "0")}`),
  ].sort();

  test("the paginator, Recursive, MaxResults 10: 3 pages, each of the 25 parameters once", async () => {
    const pages = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: tree, Recursive: true })) {
      pages.push(page);
    }
    assert.deepEqual(pages.map((p) => p.Parameters.length), [10, 10, 5]);
    const names = pages.flatMap((p) => p.Parameters.map((x) => x.Name));
    assert.deepEqual([...names].sort(), all, "each parameter exactly once");
    for (const p of pages.flatMap((page) => page.Parameters)) {
      assert.equal(p.Value, `${p.Name.split("/").pop().replace(/^([pd])0?/, "$1")}-${RUN}`);
      assert.ok(p.LastModifiedDate instanceof Date);
    }
    assert.equal(pages.at(-1).NextToken, undefined);
  });

  test("pages the way moto (AWS) pages them, and a second walk is served from the cache", async () => {
    const walk = async (client) => {
      const pages = [];
      for await (const page of paginateGetParametersByPath({ client, pageSize: 10 }, { Path: tree, Recursive: true })) {
        pages.push(page.Parameters.map((p) => p.Name));
      }
      return pages;
    };
    const direct = await walk(moto);
    const calls = await ssmCalls();
    const cached = await walk(ssm);
    assert.equal(await ssmCalls(), calls, "the tree is cached: no upstream call");
    assert.deepEqual(cached.map((p) => p.length), direct.map((p) => p.length));
    assert.deepEqual(cached.flat().sort(), direct.flat().sort());
  });

  test("not Recursive: the 15 children, not the grandchildren", async () => {
    const names = [];
    for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: tree })) {
      names.push(...page.Parameters.map((p) => p.Name));
    }
    assert.deepEqual(names.sort(), all.filter((n) => !n.includes("/deep/")));
  });

  test("one call with MaxResults 10 gives 10 and a NextToken; the token gives the next page", async () => {
    const first = await ssm.send(new GetParametersByPathCommand({ Path: tree, Recursive: true, MaxResults: 10 }));
    assert.equal(first.Parameters.length, 10);
    assert.equal(typeof first.NextToken, "string");
    const second = await ssm.send(new GetParametersByPathCommand({ Path: tree, Recursive: true, MaxResults: 10, NextToken: first.NextToken }));
    assert.equal(second.Parameters.length, 10);
    const overlap = second.Parameters.filter((p) => first.Parameters.some((q) => q.Name === p.Name));
    assert.deepEqual(overlap, []);
  });
});

describe("one cache for the SDK and the GET endpoints", () => {
  test("after an SDK read, GET /systemsmanager/parameters/get answers X-Cache: hit", async () => {
    const name = `${P}/shared-a`;
    await ssm.send(new GetParameterCommand({ Name: name }));
    const calls = await ssmCalls();
    const res = await getEndpoint(name);
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-cache"], "hit");
    assert.equal(res.json().Parameter.Value, `shared-a-${RUN}`);
    assert.equal(await ssmCalls(), calls);
  });

  test("after a GET endpoint read, the SDK's GetParameter is a hit with no upstream call", async () => {
    const name = `${P}/shared-b`;
    const res = await getEndpoint(name);
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-cache"], "miss");
    const calls = await ssmCalls();
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    assert.equal(Parameter.Value, `shared-b-${RUN}`);
    assert.equal(xCache(), "hit");
    assert.equal(await ssmCalls(), calls);
  });
});

describe("writes pass through to AWS", () => {
  test("PutParameter with Overwrite, then GetParameter: the new value though the old one was cached", async () => {
    const Name = `${P}/overwrite`;
    assert.equal((await ssm.send(new GetParameterCommand({ Name }))).Parameter.Value, `overwrite-${RUN}`);
    await ssm.send(new GetParameterCommand({ Name }));
    assert.equal(xCache(), "hit", "the old value is cached");
    const put = await ssm.send(new PutParameterCommand({ Name, Value: `new-${RUN}`, Type: "String", Overwrite: true }));
    assert.equal(put.Version, 2);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name }));
    assert.equal(Parameter.Value, `new-${RUN}`);
    assert.equal(Parameter.Version, 2);
    const direct = await moto.send(new GetParameterCommand({ Name }));
    assert.equal(direct.Parameter.Value, `new-${RUN}`, "the write reached moto");
  });

  test("DeleteParameter, then GetParameter: ParameterNotFound", async () => {
    const Name = `${P}/delete`;
    await ssm.send(new GetParameterCommand({ Name }));
    await ssm.send(new DeleteParameterCommand({ Name }));
    await assert.rejects(ssm.send(new GetParameterCommand({ Name })), ParameterNotFound);
    await assert.rejects(moto.send(new GetParameterCommand({ Name })), ParameterNotFound);
  });

  test("DeleteParameters, then GetParameter of each: ParameterNotFound", async () => {
    const names = [`${P}/del-a`, `${P}/del-b`];
    for (const Name of names) await ssm.send(new GetParameterCommand({ Name }));
    const out = await ssm.send(new DeleteParametersCommand({ Names: names }));
    assert.deepEqual([...out.DeletedParameters].sort(), names);
    for (const Name of names) await assert.rejects(ssm.send(new GetParameterCommand({ Name })), ParameterNotFound);
  });

  test("LabelParameterVersion moving a label: name:label gives the newly labelled version", async () => {
    const Name = `${P}/labelled`;
    assert.equal((await ssm.send(new GetParameterCommand({ Name: `${Name}:live` }))).Parameter.Value, `l1-${RUN}`);
    await ssm.send(new LabelParameterVersionCommand({ Name, ParameterVersion: 2, Labels: ["live"] }));
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${Name}:live` }));
    assert.equal(Parameter.Value, `l2-${RUN}`);
    assert.equal(Parameter.Version, 2);
  });

  test("GetParametersByPath after a PutParameter under the path: the new parameter is there", async () => {
    const Path = `${P}/grow`;
    const before = await ssm.send(new GetParametersByPathCommand({ Path }));
    assert.deepEqual(before.Parameters.map((p) => p.Name), [`${Path}/a`]);
    await ssm.send(new PutParameterCommand({ Name: `${Path}/b`, Value: `b-${RUN}`, Type: "String" }));
    const after = await ssm.send(new GetParametersByPathCommand({ Path }));
    assert.deepEqual(after.Parameters.map((p) => p.Name).sort(), [`${Path}/a`, `${Path}/b`]);
  });

  test("a value read by ARN, then PutParameter by name: the ARN read sees the write", async () => {
    const Name = `${P}/by-arn`;
    const { ARN } = (await moto.send(new GetParameterCommand({ Name }))).Parameter;
    assert.equal((await ssm.send(new GetParameterCommand({ Name: ARN }))).Parameter.Value, `by-arn-${RUN}`);
    await ssm.send(new PutParameterCommand({ Name, Value: `by-arn-new-${RUN}`, Type: "String", Overwrite: true }));
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: ARN }));
    assert.equal(Parameter.Value, `by-arn-new-${RUN}`, `X-Cache: ${xCache()}`);
  });

  test("PutParameter without Overwrite on an existing name: moto's ParameterAlreadyExists, relayed", async () => {
    const Name = `${P}/exists`;
    await assert.rejects(ssm.send(new PutParameterCommand({ Name, Value: "nope", Type: "String" })), (error) => {
      assert.ok(error instanceof ParameterAlreadyExists, `${error.name} is a ParameterAlreadyExists`);
      assert.equal(error.$metadata.httpStatusCode, 400);
      return true;
    });
    const direct = await moto.send(new GetParameterCommand({ Name }));
    assert.equal(direct.Parameter.Value, `exists-${RUN}`);
  });
});

describe("Cloud Extensions' path: endpoint http://localhost:<port>/parameterstore", () => {
  let ce, ceSeen;
  const paths = [];
  before(() => {
    ce = new SSMClient({ endpoint: `http://localhost:${stack.port}/parameterstore` });
    ceSeen = recordResponses(ce);
    ce.middlewareStack.add((next) => async (args) => {
      paths.push(args.request.path);
      return next(args);
    }, { step: "finalizeRequest", name: "recordPath" });
  });
  after(() => ce.destroy());

  test("GetParameter", async () => {
    const { Parameter } = await ce.send(new GetParameterCommand({ Name: `${P}/ce-one` }));
    assert.equal(Parameter.Value, `ce-one-${RUN}`);
    assert.ok(Parameter.LastModifiedDate instanceof Date);
    assert.match(paths.at(-1), /^\/parameterstore\/?$/);
    assert.equal(ceSeen.last.headers["x-cache"], "miss");
  });

  test("GetParameters", async () => {
    const out = await ce.send(new GetParametersCommand({ Names: [`${P}/ce-one`, `${P}/ce-two`, `${P}/ce-missing`] }));
    assert.deepEqual(out.Parameters.map((p) => p.Value).sort(), [`ce-one-${RUN}`, `ce-two-${RUN}`]);
    assert.deepEqual(out.InvalidParameters, [`${P}/ce-missing`]);
  });

  test("a missing name is ParameterNotFound there too", async () => {
    await assert.rejects(ce.send(new GetParameterCommand({ Name: `${P}/ce-none` })), ParameterNotFound);
  });
});
