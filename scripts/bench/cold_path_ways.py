"""The handlers whose cold path scripts/bench/client_rows.py measures, one program each.

Every program starts its CPU clock, imports what it needs, reads the parameter named by
PARAMETER_NAME once, stops the clock, and prints {"cpu_ms": ..., "value": ...} as its last line.
Only what runs between the two clock readings is counted: the interpreter's own start-up is
Lambda's either way. `os`/`time` are imported before (Python imports them at start-up anyway);
printing the result comes after. Each program is what a handler author would write for that way.
"""

# (label, program, variant): variant "bytecode" runs with the layer's precompiled bytecode,
# "source" with none (a Python version the layer has no bytecode for); None for the others.
_PY_START = "import os, time\nt0 = time.process_time()\n"
_PY_END = ("\ncpu = (time.process_time() - t0) * 1000\n"
           "import json\nprint(json.dumps({'cpu_ms': cpu, 'value': value}))\n")

_PY_CLIENT = """
import sidecache
value = sidecache.default_client().parameter(os.environ["PARAMETER_NAME"])
"""

# The floor: a socket, one request, the Content-Length bytes of the answer (the JSON body, unparsed).
_PY_RAW = """
import socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"])))
s.sendall(("GET /systemsmanager/parameters/get?name=%s&withDecryption=true HTTP/1.1\\r\\n"
           "Host: localhost\\r\\nX-Aws-Parameters-Secrets-Token: %s\\r\\n\\r\\n"
           % (os.environ["PARAMETER_NAME"], os.environ["AWS_SESSION_TOKEN"])).encode())
data = b""
while b"\\r\\n\\r\\n" not in data:
    data += s.recv(65536)
head, _, body = data.partition(b"\\r\\n\\r\\n")
length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\\r\\n")
              if line.lower().startswith(b"content-length:"))
while len(body) < length:
    body += s.recv(65536)
value = body.decode()
"""

# The AWS documentation's Python example for the Parameters and Secrets extension.
_PY_DOCS = """
import json, urllib.request
port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
request = urllib.request.Request(
    f"http://localhost:{port}/systemsmanager/parameters/get?name={os.environ['PARAMETER_NAME']}")
request.add_header("X-Aws-Parameters-Secrets-Token", os.environ["AWS_SESSION_TOKEN"])
value = json.loads(urllib.request.urlopen(request).read())["Parameter"]["Value"]
"""

# No extension: the SDK reads Parameter Store (moto here) itself.
_PY_BOTO3 = """
import boto3
ssm = boto3.client("ssm", endpoint_url=os.environ["MOTO_ENDPOINT"])
value = ssm.get_parameter(Name=os.environ["PARAMETER_NAME"], WithDecryption=True)["Parameter"]["Value"]
"""

PYTHON_WAYS = [
    ("sidecache client", _PY_START + _PY_CLIENT + _PY_END, "bytecode"),
    ("sidecache client, no precompiled bytecode", _PY_START + _PY_CLIENT + _PY_END, "source"),
    ("raw socket (floor)", _PY_START + _PY_RAW + _PY_END, None),
    ("AWS docs' snippet (urllib.request)", _PY_START + _PY_DOCS + _PY_END, None),
    ("boto3 get_parameter, no extension", _PY_START + _PY_BOTO3 + _PY_END, None),
]

# Node.js: ES module programs (run as files `way-N.mjs` in the handler's directory, as Lambda
# loads a handler), so the imports are dynamic and counted. process.exit: a kept-alive connection would otherwise hold the process open.
_JS_START = "const t0 = process.cpuUsage();\n"
_JS_END = """
const used = process.cpuUsage(t0);
console.log(JSON.stringify({ cpu_ms: (used.user + used.system) / 1000, value }));
process.exit(0);
"""
_JS_PATH = ("`/systemsmanager/parameters/get?name=${encodeURIComponent(process.env.PARAMETER_NAME)}"
            "&withDecryption=true`")
_JS_PORT = "Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)"
_JS_TOKEN = "process.env.AWS_SESSION_TOKEN"

_JS_CLIENT = """
const { Client } = await import("sidecache");
const value = await new Client().parameter(process.env.PARAMETER_NAME);
"""

_JS_RAW = f"""
const net = await import("node:net");
const value = await new Promise((resolve, reject) => {{
  const socket = net.connect({_JS_PORT}, "127.0.0.1", () => socket.write(
    `GET ${{{_JS_PATH}}} HTTP/1.1\\r\\nHost: localhost\\r\\nX-Aws-Parameters-Secrets-Token: ${{{_JS_TOKEN}}}\\r\\n\\r\\n`));
  let data = Buffer.alloc(0);
  socket.on("data", (chunk) => {{
    data = Buffer.concat([data, chunk]);
    const end = data.indexOf("\\r\\n\\r\\n");
    if (end < 0) return;
    const length = Number(/content-length:\\s*(\\d+)/i.exec(data.subarray(0, end).toString("latin1"))[1]);
    if (data.length >= end + 4 + length) {{
      socket.destroy();
      resolve(data.subarray(end + 4, end + 4 + length).toString());
    }}
  }});
  socket.on("error", reject);
}});
"""

_JS_DOCS = f"""
const http = await import("node:http");
const value = await new Promise((resolve, reject) => {{
  http.get({{ host: "localhost", port: {_JS_PORT}, path: {_JS_PATH},
              headers: {{ "X-Aws-Parameters-Secrets-Token": {_JS_TOKEN} }} }}, (response) => {{
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => resolve(JSON.parse(body).Parameter.Value));
  }}).on("error", reject);
}});
"""

_JS_FETCH = f"""
const response = await fetch(`http://localhost:${{{_JS_PORT}}}${{{_JS_PATH}}}`,
  {{ headers: {{ "X-Aws-Parameters-Secrets-Token": {_JS_TOKEN} }} }});
const value = (await response.json()).Parameter.Value;
"""

_JS_SDK = """
const { SSMClient, GetParameterCommand } = await import("@aws-sdk/client-ssm");
const ssm = new SSMClient({ endpoint: process.env.MOTO_ENDPOINT });
const answer = await ssm.send(new GetParameterCommand({ Name: process.env.PARAMETER_NAME, WithDecryption: true }));
const value = answer.Parameter.Value;
"""

# Lambda's Node.js runtime interface client imports node:http (and so node:net) before it loads
# the handler: the same two ways with that done before the clock starts.
_JS_AS_IN_LAMBDA = 'await import("node:http");\n'

NODE_WAYS = [
    ("sidecache client", _JS_START + _JS_CLIENT + _JS_END),
    ("raw node:net (floor)", _JS_START + _JS_RAW + _JS_END),
    ("sidecache client, node:http loaded before (as Lambda's runtime does)", _JS_AS_IN_LAMBDA + _JS_START + _JS_CLIENT + _JS_END),
    ("raw node:net, node:http loaded before (as Lambda's runtime does)", _JS_AS_IN_LAMBDA + _JS_START + _JS_RAW + _JS_END),
    ("AWS docs' snippet (node:http)", _JS_START + _JS_DOCS + _JS_END),
    ("fetch", _JS_START + _JS_FETCH + _JS_END),
    ("AWS SDK v3 @aws-sdk/client-ssm, no extension", _JS_START + _JS_SDK + _JS_END),
]
