// Read a parameter, a secret and an S3 object through sidecache with java.net.http (Java 11+).
// JSON with Jackson (com.fasterxml.jackson.core:jackson-databind), which most functions have.
// Usage: java GetValues.java PARAMETER_NAME SECRET_ID S3_URI
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public class GetValues {
    // Created once per execution environment (a static field), so the connection to the sidecar
    // is reused across invocations. HTTP/1.1: no h2c upgrade attempt on a local plain-text call.
    private static final HttpClient HTTP =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PORT =
            System.getenv().getOrDefault("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773");
    // In Lambda the token is the function's session token; SIDECACHE_TOKEN is for sidecars.
    private static final String TOKEN = System.getenv().getOrDefault("SIDECACHE_TOKEN",
            System.getenv().getOrDefault("AWS_SESSION_TOKEN", ""));

    static JsonNode get(String pathAndQuery) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + PORT + pathAndQuery))
                .header("X-Aws-Parameters-Secrets-Token", TOKEN)
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(response.body());
        if (response.statusCode() != 200) {
            // Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
            throw new IOException(body.path("__type").asText() + " (HTTP " + response.statusCode()
                    + "): " + body.path("message").asText());
        }
        return body;
    }

    static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8); // names hold '/'
    }

    public static void main(String[] args) throws Exception {
        JsonNode parameter = get("/systemsmanager/parameters/get?withDecryption=true&name=" + enc(args[0]));
        System.out.println("parameter: " + parameter.path("Parameter").path("Value").asText());

        // Show the secret's shape, never its value.
        JsonNode secret = get("/secretsmanager/get?secretId=" + enc(args[1]));
        List<String> keys = new ArrayList<>();
        try {
            JSON.readTree(secret.path("SecretString").asText()).fieldNames().forEachRemaining(keys::add);
        } catch (IOException notJson) {
            // The parser's message quotes the text: drop it.
        }
        Collections.sort(keys);
        System.out.println("secret keys: " + String.join(", ", keys));

        // The object is already on local disk: open the file, no object bytes cross HTTP.
        Path path = Path.of(get("/s3/get?uri=" + enc(args[2])).path("path").asText());
        try (InputStream in = Files.newInputStream(path)) {
            System.out.println("s3 path: " + path);
            System.out.println("s3 head: " + new String(in.readNBytes(64), StandardCharsets.UTF_8));
        }
    }
}
