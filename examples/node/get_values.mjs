#!/usr/bin/env node
// Read a parameter, a secret and an S3 object through sidecache: Node 20+ fetch, no npm packages.
// Usage: node get_values.mjs [PARAMETER_NAME SECRET_ID S3_URI]  (or set those environment variables)
import { open } from "node:fs/promises";

// The variable the extension itself reads, so the handler and the sidecar agree on the port.
const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || "2773";
// In Lambda the token is the function's own session token; SIDECACHE_TOKEN is for sidecars
// started with an explicit token (ECS, EC2, `make run`).
const token = process.env.SIDECACHE_TOKEN || process.env.AWS_SESSION_TOKEN || "";

async function get(path, query) {
  const response = await fetch(`http://localhost:${port}${path}?${new URLSearchParams(query)}`, {
    headers: { "X-Aws-Parameters-Secrets-Token": token },
  });
  // Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${body.__type ?? "HTTPError"} (HTTP ${response.status}): ${body.message ?? response.statusText}`);
  }
  return body;
}

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

try {
  // withDecryption=true makes SecureString values come back in clear, as in the AWS SDK.
  const parameter = await get("/systemsmanager/parameters/get", { name: parameterName, withDecryption: "true" });
  console.log("parameter:", parameter.Parameter.Value);

  // Show the secret's shape, never its value.
  const secret = await get("/secretsmanager/get", { secretId });
  console.log("secret keys:", jsonKeys(secret.SecretString));

  // The object is already on local disk: open the file, no object bytes cross HTTP.
  const s3 = await get("/s3/get", { uri: s3Uri });
  const file = await open(s3.path);
  const { buffer, bytesRead } = await file.read(Buffer.alloc(64), 0, 64, 0);
  await file.close();
  console.log("s3 path:", s3.path);
  console.log("s3 head:", buffer.subarray(0, bytesRead).toString("utf8"));
} catch (error) {
  // fetch's own message is just "fetch failed": the cause says why (ECONNREFUSED: no sidecar).
  const cause = error.cause?.code ?? error.cause?.message;
  console.error(`error: ${error.message}${cause ? ` (${cause})` : ""}`);
  process.exit(1);
}
