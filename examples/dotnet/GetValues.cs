// Read a parameter, a secret and an S3 object through sidecache with HttpClient and
// System.Text.Json (.NET 8, top-level statements). Usage: dotnet run PARAMETER_NAME SECRET_ID S3_URI
using System.Text;
using System.Text.Json;

var port = Environment.GetEnvironmentVariable("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") ?? "2773";
// In Lambda the token is the function's session token; SIDECACHE_TOKEN is for sidecars.
var token = Environment.GetEnvironmentVariable("SIDECACHE_TOKEN")
    ?? Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN") ?? "";
// One HttpClient per execution environment (make it a static field in a handler class): the
// connection to the sidecar stays open across invocations.
var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{port}") };
http.DefaultRequestHeaders.Add("X-Aws-Parameters-Secrets-Token", token);

async Task<JsonElement> Get(string pathAndQuery)
{
    using var response = await http.GetAsync(pathAndQuery);
    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    if (!response.IsSuccessStatusCode)
    {
        // Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
        throw new HttpRequestException(
            $"{body.GetProperty("__type")} (HTTP {(int)response.StatusCode}): {body.GetProperty("message")}");
    }
    return body;
}

try
{
    // Uri.EscapeDataString: names hold '/'.
    var parameter = await Get($"/systemsmanager/parameters/get?withDecryption=true&name={Uri.EscapeDataString(args[0])}");
    Console.WriteLine($"parameter: {parameter.GetProperty("Parameter").GetProperty("Value")}");

    // Show the secret's shape, never its value.
    var secret = await Get($"/secretsmanager/get?secretId={Uri.EscapeDataString(args[1])}");
    var keys = new List<string>();
    try
    {
        var fields = JsonDocument.Parse(secret.GetProperty("SecretString").GetString() ?? "null").RootElement;
        if (fields.ValueKind == JsonValueKind.Object)
            keys.AddRange(fields.EnumerateObject().Select(field => field.Name).Order());
    }
    catch (JsonException) { } // not JSON: nothing to list
    Console.WriteLine($"secret keys: {string.Join(", ", keys)}");

    // The object is already on local disk: open the file, no object bytes cross HTTP.
    var path = (await Get($"/s3/get?uri={Uri.EscapeDataString(args[2])}")).GetProperty("path").GetString()!;
    using var file = File.OpenRead(path);
    var head = new byte[64];
    var read = await file.ReadAsync(head);
    Console.WriteLine($"s3 path: {path}");
    Console.WriteLine($"s3 head: {Encoding.UTF8.GetString(head, 0, read)}");
}
catch (HttpRequestException error)
{
    Console.Error.WriteLine($"error: {error.Message}");
    return 1;
}
return 0;
