import { InvalidRequestError, MissingTokenError } from "../errors.js";

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

// Leading and trailing spaces are optional whitespace around a header value (RFC 9110 §5.5). A
// loop rather than / +$/, whose backtracking is quadratic on long runs of spaces.
function trimSpaces(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && value.charCodeAt(start) === 0x20) start += 1;
  while (end > start && value.charCodeAt(end - 1) === 0x20) end -= 1;
  return value.slice(start, end);
}

/** Credentials of an `Authorization` header: the scheme and its token. */
export interface Credentials {
  scheme: "Bearer" | "DPoP";
  token: string;
}

/**
 * The bearer token of an `Authorization` header value, with every check of
 * `parseAuthorizationHeader` but the b64token grammar of the token's characters, which
 * {@link checkB64Token} makes. The verifier skips that one for a token its cache holds: a cached
 * token matched the compact-JWS syntax, a subset of the grammar, when it was verified.
 */
export function readBearerToken(value: string | readonly string[] | null | undefined): string {
  return readCredentials(value, false).token;
}

/**
 * The scheme and token of an `Authorization` header value: `Bearer`, or also `DPoP` (RFC 9449
 * §7.1, the same token68 syntax) when `dpop` is true. Any other scheme is no credentials
 * ({@link MissingTokenError}); the header's syntax is checked as {@link readBearerToken} says.
 */
export function readCredentials(
  value: string | readonly string[] | null | undefined,
  dpop: boolean,
): Credentials {
  if (value === null || value === undefined) throw new MissingTokenError();
  if (typeof value !== "string") {
    if (value.length === 0) throw new MissingTokenError();
    if (value.length > 1) throw new InvalidRequestError("The Authorization header is repeated");
    return readCredentials(value[0], dpop);
  }
  const header = trimSpaces(value);
  if (header === "") throw new MissingTokenError();

  const schemeEnd = header.search(/[ \t,]/);
  const name = (schemeEnd === -1 ? header : header.slice(0, schemeEnd)).toLowerCase();
  const scheme = name === "bearer" ? "Bearer" : dpop && name === "dpop" ? "DPoP" : undefined;
  if (scheme === undefined) {
    if (header.includes(",")) {
      throw new InvalidRequestError("The Authorization header holds a list of credentials");
    }
    throw new MissingTokenError();
  }
  if (schemeEnd === -1) throw new InvalidRequestError("The bearer token is empty");
  const rest = header.slice(schemeEnd);
  if (rest.includes("\t")) throw new InvalidRequestError("The Authorization header contains a tab");
  if (rest.includes(",")) {
    throw new InvalidRequestError("The Authorization header holds a list of credentials");
  }
  const token = rest.replace(/^ +/, "");
  if (token === "") throw new InvalidRequestError("The bearer token is empty");
  if (token.includes(" "))
    throw new InvalidRequestError("The Authorization header holds several tokens");
  return { scheme, token };
}

/** Throws {@link InvalidRequestError} unless `token` is an RFC 6750 §2.1 b64token. */
export function checkB64Token(token: string): void {
  if (!B64TOKEN.test(token)) {
    throw new InvalidRequestError(
      "The bearer token contains characters outside the b64token grammar",
    );
  }
}
