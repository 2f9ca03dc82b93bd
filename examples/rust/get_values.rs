//! Read a parameter, a secret and an S3 object through sidecache with reqwest (async, as a
//! lambda_runtime handler is). Usage: get_values PARAMETER_NAME SECRET_ID S3_URI
//! Cargo.toml: reqwest = { version = "0.12", default-features = false, features = ["json"] }
//!             serde_json = "1"
//!             tokio = { version = "1", features = ["macros", "rt-multi-thread", "fs", "io-util"] }
use serde_json::Value;
use std::{env, error::Error};
use tokio::io::AsyncReadExt;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// GET a sidecache endpoint; a non-200 becomes an error naming the JSON error's `__type`.
async fn get(client: &reqwest::Client, path: &str, query: &[(&str, &str)]) -> Result<Value> {
    // The variable the extension itself reads, so the handler and the sidecar agree on the port.
    let port = env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").unwrap_or_else(|_| "2773".into());
    // In Lambda the token is the function's session token; SIDECACHE_TOKEN is for sidecars.
    let token = env::var("SIDECACHE_TOKEN").or_else(|_| env::var("AWS_SESSION_TOKEN"))?;
    let response = client
        .get(format!("http://localhost:{port}{path}"))
        .query(query) // URL-encodes: names hold '/'
        .header("X-Aws-Parameters-Secrets-Token", token)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        // Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
        let (kind, message) = (&body["__type"], &body["message"]);
        return Err(format!("{} (HTTP {}): {}", kind.as_str().unwrap_or("?"), status.as_u16(), message.as_str().unwrap_or("")).into());
    }
    Ok(body)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let [parameter_name, secret_id, s3_uri] = &args[..] else {
        return Err("usage: get_values PARAMETER_NAME SECRET_ID S3_URI".into());
    };
    // One client per execution environment: it keeps the connection to the sidecar open.
    let client = reqwest::Client::new();

    let query = [("name", parameter_name.as_str()), ("withDecryption", "true")];
    let parameter = get(&client, "/systemsmanager/parameters/get", &query).await?;
    println!("parameter: {}", parameter["Parameter"]["Value"].as_str().unwrap_or_default());

    // Show the secret's shape, never its value.
    let secret = get(&client, "/secretsmanager/get", &[("secretId", secret_id)]).await?;
    let fields = serde_json::from_str::<Value>(secret["SecretString"].as_str().unwrap_or_default());
    let mut keys: Vec<&str> = match &fields {
        Ok(Value::Object(map)) => map.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    keys.sort_unstable();
    println!("secret keys: {}", keys.join(", "));

    // The object is already on local disk: open the file, no object bytes cross HTTP.
    let object = get(&client, "/s3/get", &[("uri", s3_uri)]).await?;
    let path = object["path"].as_str().unwrap_or_default();
    let mut head = Vec::with_capacity(64);
    tokio::fs::File::open(path).await?.take(64).read_to_end(&mut head).await?;
    println!("s3 path: {path}");
    println!("s3 head: {}", String::from_utf8_lossy(&head));
    Ok(())
}
