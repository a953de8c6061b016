import { InvalidTokenError } from "../errors.js";
import type { ResolvedVerifierOptions } from "./resolve-options.js";
import type { AccessTokenClaims, AccessTokenHeader } from "./types.js";

const ALWAYS_REQUIRED = ["iss", "sub", "aud", "exp"] as const;
const STRICT_REQUIRED = ["iat", "jti", "client_id"] as const;

// RFC 9068 §2.1 type, and the generic JWT type Auth0 and most providers send; anything else (an ID
// token profile, a logout token, a DPoP proof) is another kind of JWT and is refused.
const STRICT_TYPES = new Set(["at+jwt", "application/at+jwt"]);
const ACCEPTED_TYPES = new Set([...STRICT_TYPES, "jwt", "application/jwt"]);

const STRING_CLAIMS = ["iss", "sub", "jti", "scope", "azp", "client_id", "gty"] as const;
const NUMERIC_CLAIMS = ["exp", "iat", "nbf"] as const;

// RFC 7519 §2 NumericDate: seconds since the epoch, fractions allowed. Bounded to 1970 … 9999, the
// dates every consumer can represent (`new Date(exp * 1000).toISOString()` throws past ±8.64e12 s);
// the comparisons also refuse NaN and the Infinity that JSON such as `1e400` parses to.
const MAX_NUMERIC_DATE = 253_402_300_799;
const inRange = (value: number): boolean => value >= 0 && value <= MAX_NUMERIC_DATE;

/** Checks `typ` before the signature: it is a property of the header alone. */
export function checkType(header: AccessTokenHeader, strict: boolean): void {
  if (header.typ === undefined) {
    if (strict) throw new InvalidTokenError("type");
    return;
  }
  const typ = header.typ.toLowerCase();
  if (!(strict ? STRICT_TYPES : ACCEPTED_TYPES).has(typ)) throw new InvalidTokenError("type");
}

function checkTypes(payload: Record<string, unknown>): void {
  for (const name of STRING_CLAIMS) {
    const value = payload[name];
    if (value !== undefined && typeof value !== "string")
      throw new InvalidTokenError("claim_type", { claim: name });
  }
  for (const name of NUMERIC_CLAIMS) {
    const value = payload[name];
    if (value === undefined) continue;
    if (typeof value !== "number") throw new InvalidTokenError("claim_type", { claim: name });
    if (!inRange(value)) throw new InvalidTokenError("claim_range", { claim: name });
  }
  const { aud, permissions } = payload;
  if (
    aud !== undefined &&
    typeof aud !== "string" &&
    !(Array.isArray(aud) && aud.length > 0 && aud.every((entry) => typeof entry === "string"))
  ) {
    throw new InvalidTokenError("claim_type", { claim: "aud" });
  }
  if (
    permissions !== undefined &&
    !(Array.isArray(permissions) && permissions.every((entry) => typeof entry === "string"))
  ) {
    throw new InvalidTokenError("claim_type", { claim: "permissions" });
  }
}

function hasAudience(aud: string | string[], accepted: ReadonlySet<string>): boolean {
  if (typeof aud === "string") return accepted.has(aud);
  for (const entry of aud) if (accepted.has(entry)) return true;
  return false;
}

/** Checks the time claims against `nowSeconds`; shared with verified-token cache hits. */
export function checkTimes(
  claims: Pick<AccessTokenClaims, "exp" | "nbf" | "iat">,
  nowSeconds: number,
  options: Pick<ResolvedVerifierOptions, "clockToleranceSeconds" | "maxTokenAgeSeconds">,
): void {
  const tolerance = options.clockToleranceSeconds;
  if (claims.exp <= nowSeconds - tolerance) throw new InvalidTokenError("expired");
  if (claims.nbf !== undefined && claims.nbf > nowSeconds + tolerance)
    throw new InvalidTokenError("not_yet_valid");
  if (claims.iat !== undefined && claims.iat > nowSeconds + tolerance)
    throw new InvalidTokenError("not_yet_valid");
  if (options.maxTokenAgeSeconds !== undefined) {
    if (claims.iat === undefined) throw new InvalidTokenError("missing_claim", { claim: "iat" });
    if (nowSeconds - claims.iat > options.maxTokenAgeSeconds + tolerance)
      throw new InvalidTokenError("too_old");
  }
}

/**
 * Checks a signature-verified payload: types of the registered claims and the range of the
 * NumericDates, presence of the required ones, `exp` after `iat` and `nbf`, `iss` exact, `aud`
 * containing an accepted audience, times with leeway, custom validators.
 */
export function checkClaims(
  payload: Record<string, unknown>,
  header: AccessTokenHeader,
  issuer: string,
  nowSeconds: number,
  options: ResolvedVerifierOptions,
): AccessTokenClaims {
  checkTypes(payload);
  for (const name of ALWAYS_REQUIRED) {
    if (payload[name] === undefined) throw new InvalidTokenError("missing_claim", { claim: name });
  }
  if (options.strict) {
    for (const name of STRICT_REQUIRED) {
      if (payload[name] === undefined)
        throw new InvalidTokenError("missing_claim", { claim: name });
    }
  }
  for (const name of options.requiredClaims) {
    if (payload[name] === undefined) throw new InvalidTokenError("missing_claim", { claim: name });
  }
  const claims = payload as AccessTokenClaims;
  if (claims.iss !== issuer) throw new InvalidTokenError("issuer");
  if (!hasAudience(claims.aud, options.audiences)) throw new InvalidTokenError("audience");
  checkTimes(claims, nowSeconds, options);
  // A token whose validity ends before it starts was never valid: an issuer bug, not a clock skew.
  // Checked after the times, so an expired token is reported as expired.
  if (
    (claims.iat !== undefined && claims.exp <= claims.iat) ||
    (claims.nbf !== undefined && claims.exp <= claims.nbf)
  ) {
    throw new InvalidTokenError("claim_range", { claim: "exp" });
  }
  for (const name in options.validators) {
    const validator = options.validators[name];
    const value = payload[name];
    let accepted: boolean;
    try {
      accepted =
        typeof validator === "function"
          ? validator(value, claims, header) === true
          : value === validator;
    } catch (cause) {
      throw new InvalidTokenError("claim_value", { claim: name, cause });
    }
    if (!accepted) throw new InvalidTokenError("claim_value", { claim: name });
  }
  return claims;
}
