// Typed errors for sidecache's JSON errors ({"__type", "message"} plus a status). The class
// is chosen by HTTP status, which sidecache keeps distinct per cause (docs/api.md, "Status
// codes"); `errorType` keeps the exact __type (e.g. "ParameterNotFound").

export class SidecacheError extends Error {
  constructor(status, errorType, message, options) {
    super(status ? `${errorType} (HTTP ${status}): ${message}` : `${errorType}: ${message}`, options);
    this.name = new.target.name;
    this.status = status;
    this.errorType = errorType;
    // sidecache's own message: it never holds a value or the token.
    this.detail = message;
  }
}

/** 400: a malformed name or query, or AWS refused the request as invalid. */
export class BadRequest extends SidecacheError {}
/** 403: a missing or wrong token, or the function's role may not read or decrypt the value. */
export class AccessDenied extends SidecacheError {}
/** 404: the parameter, secret, version, bucket or object does not exist. */
export class NotFound extends SidecacheError {}
/** 429: AWS throttled the call after the SDK's own retries. */
export class Throttled extends SidecacheError {}
/** 502/503: AWS could not be reached, or answered 5xx, after retries. */
export class UpstreamUnavailable extends SidecacheError {}
/** 504: the AWS call ran out of time. */
export class Timeout extends SidecacheError {}
/** Nothing answered on the port: the extension is not in the function, or never started. */
export class Unreachable extends SidecacheError {}

const BY_STATUS = {
  400: BadRequest,
  403: AccessDenied,
  404: NotFound,
  429: Throttled,
  502: UpstreamUnavailable,
  503: UpstreamUnavailable,
  504: Timeout,
};

/** The error for an error answer; `body` is its text (JSON when sidecache wrote it). */
export function errorFromResponse(status, body) {
  let parsed = null;
  try {
    parsed = JSON.parse(body);
  } catch {}
  if (parsed === null || typeof parsed !== "object") parsed = {};
  const Type = BY_STATUS[status] ?? SidecacheError;
  return new Type(status, parsed.__type || `HTTP${status}`, parsed.message || "");
}
