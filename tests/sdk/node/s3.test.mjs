// S3 reads through sidecache with a stock SDK v3 S3Client given sidecache as its endpoint,
// path style: GetObject and HeadObject from the S3 file cache with S3's headers, a Range, a
// conditional GET, S3's errors, and uploads refused with 501 NotImplemented (nothing reaches moto).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { RUN, recordResponses, startStack } from "./stack.mjs";

const BUCKET = `sdk-node-${RUN}`.toLowerCase();
const PLAIN = { key: "data/plain.txt", body: Buffer.from(`0123456789abcdef-${RUN}`), type: "text/plain" };
const FANCY = { key: `dir with spaces/ünïcødé ✓ ${RUN}.json`, body: Buffer.from(JSON.stringify({ run: RUN, word: "naïve" })), type: "application/json" };
const VERSIONED = `sdk-node-versioned-${RUN}`.toLowerCase();
// Buckets named like sidecache's own paths: the signature, not the path, makes these S3 calls.
const LOOKALIKES = [["ping", "ping"], ["secretsmanager", "get"], ["systemsmanager", "parameters/get"], ["stats", "x"], ["parameterstore", "x"]];
const BINARY = { key: "bin/blob.bin", body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff)), type: "application/octet-stream" };
let stack, moto, s3, seen;
const etags = {};

before(async () => {
  stack = await startStack();
  moto = new S3Client({ endpoint: stack.motoUrl, forcePathStyle: true });
  await moto.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const o of [PLAIN, FANCY, BINARY]) {
    const out = await moto.send(new PutObjectCommand({ Bucket: BUCKET, Key: o.key, Body: o.body, ContentType: o.type }));
    etags[o.key] = out.ETag;
  }
  await moto.send(new CreateBucketCommand({ Bucket: VERSIONED }));
  await moto.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: "Enabled" } }));
  for (const body of [`first-${RUN}`, `second-${RUN}!`]) {
    const out = await moto.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "v.txt", Body: body }));
    (etags.versions ??= []).push({ id: out.VersionId, etag: out.ETag, body });
  }
  await moto.send(new PutObjectCommand({ Bucket: BUCKET, Key: "concurrent.bin", Body: Buffer.alloc(300_000, 7) }));
  await moto.send(new PutObjectCommand({ Bucket: BUCKET, Key: "keep.txt", Body: "keep" }));
  for (const [bucket, key] of LOOKALIKES) {
    await moto.send(new CreateBucketCommand({ Bucket: bucket }));
    await moto.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${bucket}/${key} ${RUN}` }));
  }
  // The client under test: sidecache as its endpoint, path style; the rest from the environment.
  s3 = new S3Client({ endpoint: `http://localhost:${stack.port}`, forcePathStyle: true });
  seen = recordResponses(s3);
});

after(async () => {
  s3?.destroy();
  moto?.destroy();
  await stack?.stop();
});

describe("GetObject", () => {
  for (const o of [PLAIN, FANCY, BINARY]) {
    test(`the bytes and S3's headers: ${o.key}`, async () => {
      const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.key }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(seen.last.headers["x-cache"], "the answer came from sidecache (X-Cache)");
      const bytes = await out.Body.transformToByteArray();
      assert.deepEqual(Buffer.from(bytes), o.body);
      assert.equal(out.ETag, etags[o.key]);
      assert.equal(out.ContentLength, o.body.length);
      assert.equal(out.ContentType, o.type);
      assert.ok(out.LastModified instanceof Date);
    });
  }

  test("the second read is served from the cache with no upstream call", async () => {
    await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key }))).Body.transformToByteArray();
    const calls = (await stack.stats()).upstream.s3.calls;
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key }));
    assert.deepEqual(Buffer.from(await out.Body.transformToByteArray()), PLAIN.body);
    assert.equal(seen.last.headers["x-cache"], "hit");
    assert.equal((await stack.stats()).upstream.s3.calls, calls);
  });

  test("Range: bytes=2-5 is a 206 with those bytes", async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, Range: "bytes=2-5" }));
    assert.equal(out.$metadata.httpStatusCode, 206);
    assert.deepEqual(Buffer.from(await out.Body.transformToByteArray()), PLAIN.body.subarray(2, 6));
    assert.equal(out.ContentLength, 4);
    assert.equal(out.ContentRange, `bytes 2-5/${PLAIN.body.length}`);
    assert.equal(out.ETag, etags[PLAIN.key]);
  });

  test("suffix and open-ended ranges", async () => {
    const n = PLAIN.body.length;
    const suffix = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, Range: "bytes=-4" }));
    assert.equal(suffix.$metadata.httpStatusCode, 206);
    assert.deepEqual(Buffer.from(await suffix.Body.transformToByteArray()), PLAIN.body.subarray(n - 4));
    assert.equal(suffix.ContentRange, `bytes ${n - 4}-${n - 1}/${n}`);
    const open = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, Range: "bytes=10-" }));
    assert.deepEqual(Buffer.from(await open.Body.transformToByteArray()), PLAIN.body.subarray(10));
  });

  test("a range past the end: InvalidRange, 416", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, Range: "bytes=5000-6000" })), (error) => {
      assert.equal(error.name, "InvalidRange");
      assert.equal(error.$metadata.httpStatusCode, 416);
      return true;
    });
  });

  test("a Range on a key with spaces and unicode", async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: FANCY.key, Range: "bytes=0-6" }));
    assert.equal(out.$metadata.httpStatusCode, 206);
    assert.deepEqual(Buffer.from(await out.Body.transformToByteArray()), FANCY.body.subarray(0, 7));
  });

  test("If-None-Match with the ETag: the SDK throws with status 304", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, IfNoneMatch: etags[PLAIN.key] })), (error) => {
      assert.equal(error.$metadata.httpStatusCode, 304);
      return true;
    });
    assert.ok(seen.last.headers["x-cache"], "the answer came from sidecache (X-Cache)");
    assert.equal(seen.last.headers.etag, etags[PLAIN.key]);
  });

  test("If-Match with another ETag: 412 PreconditionFailed, as S3 answers", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, IfMatch: '"0123456789abcdef0123456789abcdef"' })), (error) => {
      assert.equal(error.$metadata.httpStatusCode, 412);
      return true;
    });
  });

  test("If-Modified-Since after the object's last change: 304, as S3 answers", async () => {
    const future = new Date(Date.now() + 86_400_000);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, IfModifiedSince: future })), (error) => {
      assert.equal(error.$metadata.httpStatusCode, 304);
      return true;
    });
  });

  test("If-None-Match with another ETag: the object", async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: PLAIN.key, IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(Buffer.from(await out.Body.transformToByteArray()), PLAIN.body);
  });

  test("a missing key is NoSuchKey, 404", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `missing/${RUN}.txt` })), (error) => {
      assert.ok(error instanceof NoSuchKey, `${error.name} is a NoSuchKey`);
      assert.equal(error.name, "NoSuchKey");
      assert.equal(error.$metadata.httpStatusCode, 404);
      return true;
    });
  });
});

describe("versions, concurrency, bucket names", () => {
  test("VersionId gives that version, and x-amz-version-id comes back", async () => {
    for (const { id, etag, body } of etags.versions) {
      const out = await s3.send(new GetObjectCommand({ Bucket: VERSIONED, Key: "v.txt", VersionId: id }));
      assert.equal(await out.Body.transformToString(), body);
      assert.equal(out.VersionId, id);
      assert.equal(out.ETag, etag);
    }
    const latest = await s3.send(new GetObjectCommand({ Bucket: VERSIONED, Key: "v.txt" }));
    assert.equal(await latest.Body.transformToString(), etags.versions[1].body);
    assert.equal(latest.VersionId, etags.versions[1].id);
  });

  test("an unknown VersionId: NoSuchVersion, 404", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: VERSIONED, Key: "v.txt", VersionId: "no-such-version" })), (error) => {
      assert.equal(error.name, "NoSuchVersion");
      assert.equal(error.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  test("a missing bucket: NoSuchBucket, 404", async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: `no-such-bucket-${RUN}`.toLowerCase(), Key: "x" })), (error) => {
      assert.equal(error.name, "NoSuchBucket");
      assert.equal(error.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  test("20 concurrent GetObjects of one uncached object: one download", async () => {
    const calls = (await stack.stats()).upstream.s3.calls;
    const sizes = await Promise.all(Array.from({ length: 20 }, async () =>
      (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "concurrent.bin" }))).Body.transformToByteArray()).length));
    assert.deepEqual(new Set(sizes), new Set([300_000]));
    assert.equal((await stack.stats()).upstream.s3.calls, calls + 1);
  });

  for (const [bucket, key] of LOOKALIKES) {
    test(`a bucket named like a sidecache path: s3://${bucket}/${key}`, async () => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await out.Body.transformToString(), `${bucket}/${key} ${RUN}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ContentLength, Buffer.byteLength(`${bucket}/${key} ${RUN}`));
    });
  }
});

describe("HeadObject", () => {
  for (const o of [PLAIN, FANCY]) {
    test(`S3's headers, no body: ${o.key}`, async () => {
      const out = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: o.key }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(seen.last.headers["x-cache"], "the answer came from sidecache (X-Cache)");
      assert.equal(out.ETag, etags[o.key]);
      assert.equal(out.ContentLength, o.body.length);
      assert.equal(out.ContentType, o.type);
      assert.ok(out.LastModified instanceof Date);
    });
  }

  test("a missing key: 404 (the SDK's NotFound, as HEAD has no body)", async () => {
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `missing/${RUN}.txt` })), (error) => {
      assert.equal(error.$metadata.httpStatusCode, 404);
      assert.equal(error.name, "NotFound");
      return true;
    });
  });
});

describe("uploads are not proxied", () => {
  test("PutObject: NotImplemented (501), and moto never sees the object", async () => {
    const Key = `upload/${RUN}.txt`;
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: "should not arrive" })), (error) => {
      assert.equal(error.name, "NotImplemented");
      assert.equal(error.$metadata.httpStatusCode, 501);
      assert.match(error.message, /\S/, "S3's XML says why");
      return true;
    });
    await assert.rejects(moto.send(new HeadObjectCommand({ Bucket: BUCKET, Key })), (error) => error.$metadata.httpStatusCode === 404);
  });

  test("DeleteObject: NotImplemented (501), and the object is still in moto", async () => {
    await assert.rejects(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "keep.txt" })), (error) => {
      assert.equal(error.name, "NotImplemented");
      assert.equal(error.$metadata.httpStatusCode, 501);
      return true;
    });
    const still = await moto.send(new GetObjectCommand({ Bucket: BUCKET, Key: "keep.txt" }));
    assert.equal(await still.Body.transformToString(), "keep");
  });
});
