# Read a parameter, a secret and an S3 object through sidecache with Net::HTTP and json (both in
# the standard library, Ruby 3+). Usage: ruby get_values.rb PARAMETER_NAME SECRET_ID S3_URI
require "json"
require "net/http"

# The variable the extension itself reads, so the handler and the sidecar agree on the port.
PORT = ENV.fetch("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
# In Lambda the token is the function's session token; SIDECACHE_TOKEN is for sidecars.
TOKEN = ENV["SIDECACHE_TOKEN"] || ENV.fetch("AWS_SESSION_TOKEN", "")

def sidecache(path, **query)
  uri = URI("http://localhost:#{PORT}#{path}")
  uri.query = URI.encode_www_form(query) # names hold '/'
  response = Net::HTTP.get_response(uri, { "X-Aws-Parameters-Secrets-Token" => TOKEN })
  body = JSON.parse(response.body)
  # Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
  raise "#{body["__type"]} (HTTP #{response.code}): #{body["message"]}" unless response.code == "200"
  body
end

parameter_name, secret_id, s3_uri = ARGV
begin
  parameter = sidecache("/systemsmanager/parameters/get", name: parameter_name, withDecryption: "true")
  puts "parameter: #{parameter["Parameter"]["Value"]}"

  # Show the secret's shape, never its value: JSON::ParserError's message would quote it.
  secret = sidecache("/secretsmanager/get", secretId: secret_id)
  fields = JSON.parse(secret["SecretString"]) rescue nil
  puts "secret keys: #{fields.is_a?(Hash) ? fields.keys.sort.join(", ") : "(not a JSON object)"}"

  # The object is already on local disk: read the file, no object bytes cross HTTP.
  path = sidecache("/s3/get", uri: s3_uri)["path"]
  puts "s3 path: #{path}"
  puts "s3 head: #{File.open(path, "rb") { |f| f.read(64) }}"
rescue RuntimeError => e
  abort "error: #{e.message}"
end
