#!/usr/bin/env node
// Read a parameter, a secret and an S3 object through sidecache with the `sidecache` package
// (clients/node: ES module and CommonJS, no dependencies, a kept-alive connection on libuv's
// TCP handle, or node:net).
// Usage: node get_values.mjs [PARAMETER_NAME SECRET_ID S3_URI]  (or set those environment variables)
// In a function with the sidecache layer (or after `npm install ./clients/node`): import { Client } from "sidecache";
import { open } from "node:fs/promises";
import { Client } from "../../clients/node/dist/sidecache.mjs";

// The keys of a JSON object, without ever echoing the text: JSON.parse's error message quotes it.
function jsonKeys(text) {
  let value = null;
  try {
    value = JSON.parse(text);
  } catch {}
  const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
  return isObject ? Object.keys(value).sort().join(", ") : "(not a JSON object)";
}

const args = process.argv.slice(2);
const [parameterName, secretId, s3Uri] = args.length
  ? args
  : [process.env.PARAMETER_NAME, process.env.SECRET_ID, process.env.S3_URI];
if (!parameterName || !secretId || !s3Uri) {
  console.error("usage: node get_values.mjs PARAMETER_NAME SECRET_ID S3_URI");
  process.exit(2);
}

// The port is PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (the extension's own variable), the token
// SIDECACHE_TOKEN, else the function's AWS_SESSION_TOKEN (AWS_CONTAINER_AUTHORIZATION_TOKEN under SnapStart).
const client = new Client();
try {
  // SecureStrings come back decrypted; a StringList would come back as an array.
  console.log("parameter:", await client.parameter(parameterName));

  // Show the secret's shape, never its value.
  console.log("secret keys:", jsonKeys(await client.secret(secretId)));

  // The object is already on local disk: open the file, no object bytes cross HTTP.
  const path = await client.objectPath(s3Uri);
  const file = await open(path);
  const { buffer, bytesRead } = await file.read(Buffer.alloc(64), 0, 64, 0);
  await file.close();
  console.log("s3 path:", path);
  console.log("s3 head:", buffer.subarray(0, bytesRead).toString("utf8"));
} catch (error) {
  // Typed errors (NotFound, AccessDenied, ...) carry the status and the AWS code (errorType).
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
} finally {
  client.close();
}
