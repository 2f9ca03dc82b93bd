// Read a parameter, a secret and an S3 object through sidecache: standard library only (Go 1.22+).
// Usage: go run get_values.go PARAMETER_NAME SECRET_ID S3_URI
package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
)

// The variable the extension itself reads, so the handler and the sidecar agree on the port.
var port = cmp.Or(os.Getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"), "2773")

// In Lambda the token is the function's session token; SIDECACHE_TOKEN is for sidecars.
var token = cmp.Or(os.Getenv("SIDECACHE_TOKEN"), os.Getenv("AWS_SESSION_TOKEN"))

// get decodes a sidecache answer into out; a non-200 becomes an error naming its __type.
func get(path string, query url.Values, out any) error {
	req, err := http.NewRequest(http.MethodGet, "http://localhost:"+port+path+"?"+query.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", token)
	// http.DefaultClient keeps the connection open between invocations.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Errors are JSON like AWS's: {"__type": "ParameterNotFound", "message": "..."}.
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s (HTTP %d): %s", e.Type, resp.StatusCode, e.Message)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("error: ")
	if len(os.Args) != 4 {
		log.Fatal("usage: get_values PARAMETER_NAME SECRET_ID S3_URI")
	}

	var parameter struct{ Parameter struct{ Value string } }
	query := url.Values{"name": {os.Args[1]}, "withDecryption": {"true"}}
	if err := get("/systemsmanager/parameters/get", query, &parameter); err != nil {
		log.Fatal(err)
	}
	fmt.Println("parameter:", parameter.Parameter.Value)

	// Show the secret's shape, never its value.
	var secret struct{ SecretString string }
	if err := get("/secretsmanager/get", url.Values{"secretId": {os.Args[2]}}, &secret); err != nil {
		log.Fatal(err)
	}
	var fields map[string]json.RawMessage
	keys := []string{}
	if json.Unmarshal([]byte(secret.SecretString), &fields) == nil {
		for key := range fields {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	fmt.Println("secret keys:", strings.Join(keys, ", "))

	// The object is already on local disk: open the file, no object bytes cross HTTP.
	var object struct{ Path string }
	if err := get("/s3/get", url.Values{"uri": {os.Args[3]}}, &object); err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(object.Path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	fmt.Println("s3 path:", object.Path)
	fmt.Println("s3 head:", string(head[:n]))
}
