// The CDK drop-in of README.md ("Add the layer") and docs/migrating-from-aws-extension.md,
// synthesized with the real aws-cdk-lib: a function that attached AWS's extension with
// `paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(...)` swaps in sidecache's layer ARN
// with `fromVersionArn(...)`, keeping its options. Checks the template CloudFormation would get:
// the function has the sidecache layer, and every variable CDK sets for the extension is one
// sidecache reads (docs/configuration.md's table), with the values the options asked for.
//
//   make cdk-synth          (installs aws-cdk-lib pinned by package-lock.json, then runs this)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";

const X86_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:sidecache:7";
const ARM64_ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:sidecache-arm64:7";

// The variables docs/configuration.md documents as read by sidecache (first column of its tables).
function documentedVariables() {
  const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  const names = new Set();
  for (const match of doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)) names.add(match[1]);
  return names;
}

// The snippet as the docs show it, in a stack of its own.
function synthesize() {
  const app = new App();
  const stack = new Stack(app, "SidecacheDropIn", { env: { account: "123456789012", region: "eu-west-1" } });
  const functionProps = (architecture, arn) => ({
    runtime: lambda.Runtime.PYTHON_3_13,
    architecture,
    handler: "app.handler",
    code: lambda.Code.fromInline("def handler(event, context):\n    return None\n"),
    paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersionArn(arn, {
      cacheSize: 500,
      parameterStoreTtl: Duration.minutes(5),
      secretsManagerTtl: Duration.minutes(5),
      logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
    }),
  });
  const fn = new lambda.Function(stack, "App", functionProps(lambda.Architecture.X86_64, X86_ARN));
  // sidecache's own settings go beside the extension's, as plain environment variables, and so
  // does a TTL above the 300 s CDK accepts in the options (sidecache takes up to a year).
  fn.addEnvironment("SIDECACHE_PREFETCH", "ssm:/app/greeting");
  fn.addEnvironment("SSM_PARAMETER_STORE_TTL", "3600");
  new lambda.Function(stack, "AppGraviton", functionProps(lambda.Architecture.ARM_64, ARM64_ARN));
  return Template.fromStack(stack);
}

const template = synthesize();
const functions = Object.values(template.findResources("AWS::Lambda::Function"));

test("each function gets the sidecache layer of its architecture, and no other", () => {
  const byArch = Object.fromEntries(functions.map((f) => [f.Properties.Architectures?.[0] ?? "x86_64", f]));
  assert.deepEqual(byArch.x86_64.Properties.Layers, [X86_ARN]);
  assert.deepEqual(byArch.arm64.Properties.Layers, [ARM64_ARN]);
});

test("the options become the variables sidecache reads, with their values", () => {
  const variables = functions.map((f) => f.Properties.Environment.Variables)
    .find((v) => "SIDECACHE_PREFETCH" in v);
  assert.ok(variables, "the x86_64 function's environment was not synthesized");
  assert.equal(variables.PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE, "500");
  assert.equal(variables.SSM_PARAMETER_STORE_TTL, "3600", "addEnvironment overrides the option");
  assert.equal(variables.SECRETS_MANAGER_TTL, "300");
  assert.equal(variables.PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL, "warn");
  assert.equal(variables.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, "2773");
  assert.equal(variables.SIDECACHE_PREFETCH, "ssm:/app/greeting");
});

test("every variable CDK sets is one sidecache documents and reads", () => {
  const documented = documentedVariables();
  assert.ok(documented.size > 10, `docs/configuration.md lists only ${documented.size} variables`);
  for (const fn of functions) {
    const names = Object.keys(fn.Properties.Environment.Variables);
    assert.ok(names.length >= 9, `only ${names.length} variables synthesized: ${names}`);
    const unknown = names.filter((name) => !documented.has(name));
    assert.deepEqual(unknown, [], "variables sidecache does not read (docs/configuration.md)");
  }
});

// The AppConfig Agent's layer replaced by sidecache's (docs/appconfig.md): a function that attached
// the agent with `appconfig.Application.getLambdaLayerVersionArn(region)` and set the agent's
// variables attaches sidecache's layer instead and keeps the variables, which sidecache reads.
test("the AppConfig Agent's layer swaps for sidecache's, its variables kept", async () => {
  const appconfig = await import("aws-cdk-lib/aws-appconfig");
  const agentArn = appconfig.Application.getLambdaLayerVersionArn("eu-west-1");
  assert.match(agentArn, /AppConfig/, "the agent's layer ARN as CDK knows it");
  const agentVariables = {
    AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS: "60",
    AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS: "3000",
    AWS_APPCONFIG_EXTENSION_PREFETCH_LIST: "shop:prod:flags",
    AWS_APPCONFIG_EXTENSION_HTTP_PORT: "2772",
  };
  const functionWith = (layerArn) => {
    const stack = new Stack(new App(), "AppConfigDropIn", { env: { account: "123456789012", region: "eu-west-1" } });
    const fn = new lambda.Function(stack, "Reader", {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler = async () => null;"),
      environment: agentVariables,
    });
    fn.addLayers(lambda.LayerVersion.fromLayerVersionArn(stack, "Layer", layerArn));
    return Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function"))[0].Properties;
  };
  const before = functionWith(agentArn);
  const after = functionWith(X86_ARN);
  assert.deepEqual(before.Layers, [agentArn]);
  assert.deepEqual(after.Layers, [X86_ARN], "sidecache's layer, and not the agent's");
  assert.deepEqual(after.Environment.Variables, before.Environment.Variables, "nothing else changes");
  const documented = documentedVariables();
  const unknown = Object.keys(after.Environment.Variables).filter((name) => !documented.has(name));
  assert.deepEqual(unknown, [], "variables sidecache does not read (docs/configuration.md)");
});
