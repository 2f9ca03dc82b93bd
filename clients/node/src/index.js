// sidecache's handler-side client for Node.js: a keep-alive client and a middy-compatible
// middleware. ESM, no dependencies, Node 18+.
export { Client, getDefaultClient, setDefaultClient, parameterValue, DEFAULT_PORT, TOKEN_HEADER } from "./client.js";
export {
  SidecacheError, BadRequest, AccessDenied, NotFound, Throttled, UpstreamUnavailable, Timeout, Unreachable,
} from "./errors.js";
export { sidecache, jsonSafeParse } from "./middleware.js";
