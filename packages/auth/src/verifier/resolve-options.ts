import {
  type AccessTokenVerifierOptions,
  type InsecureHttpPolicy,
  SUPPORTED_ALGORITHMS,
} from "./types.js";

const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_ALGORITHMS);

/** The options with every default applied and every value checked. */
export interface ResolvedVerifierOptions {
  issuerBaseURL: URL | undefined;
  issuer: string | undefined;
  jwksUri: URL | undefined;
  audiences: ReadonlySet<string>;
  algorithms: ReadonlySet<string>;
  clockToleranceSeconds: number;
  requiredClaims: readonly string[];
  maxTokenAgeSeconds: number | undefined;
  strict: boolean;
  validators: NonNullable<AccessTokenVerifierOptions["validators"]>;
  maxTokenLength: number;
  jwksCacheMaxAge: number;
  jwksMaxStaleness: number;
  jwksCooldown: number;
  discoveryMaxAge: number;
  timeout: number;
  maxResponseSize: number;
  allowInsecureHttp: InsecureHttpPolicy;
  tokenCacheSize: number;
  tokenCacheMaxBytes: number;
  fetch: typeof globalThis.fetch;
  now: () => number;
  onEvent: AccessTokenVerifierOptions["onEvent"];
}

function fail(message: string): never {
  throw new TypeError(`createAccessTokenVerifier: ${message}`);
}

function duration(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    fail(`"${name}" must be a finite number >= ${min}`);
  }
  return value;
}

function toUrl(name: string, value: string | URL | undefined): URL | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value);
  } catch {
    return fail(`"${name}" is not a valid URL`);
  }
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Throws unless `url` may be fetched under `policy` (https, or http as the policy allows). */
export function assertFetchableUrl(name: string, url: URL, policy: InsecureHttpPolicy): void {
  if (url.protocol === "https:") return;
  if (url.protocol !== "http:") fail(`"${name}" must be an https: URL`);
  if (policy === true) return;
  if (policy === "loopback" && LOOPBACK_HOSTS.test(url.hostname)) return;
  fail(
    `"${name}" must be an https: URL (plain http is allowed for loopback hosts by default, ` +
      `elsewhere only with allowInsecureHttp: true)`,
  );
}

/** Applies defaults and rejects unsafe or inconsistent configurations at construction time. */
export function resolveVerifierOptions(
  options: AccessTokenVerifierOptions,
): ResolvedVerifierOptions {
  const allowInsecureHttp = options.allowInsecureHttp ?? "loopback";
  if (allowInsecureHttp !== "loopback" && typeof allowInsecureHttp !== "boolean") {
    fail('"allowInsecureHttp" must be "loopback", true or false');
  }
  const issuerBaseURL = toUrl("issuerBaseURL", options.issuerBaseURL);
  const jwksUri = toUrl("jwksUri", options.jwksUri);
  if (issuerBaseURL === undefined && (jwksUri === undefined || options.issuer === undefined)) {
    fail('give "issuerBaseURL", or both "issuer" and "jwksUri"');
  }
  if (issuerBaseURL) assertFetchableUrl("issuerBaseURL", issuerBaseURL, allowInsecureHttp);
  if (jwksUri) assertFetchableUrl("jwksUri", jwksUri, allowInsecureHttp);
  if (
    options.issuer !== undefined &&
    (typeof options.issuer !== "string" || options.issuer === "")
  ) {
    fail('"issuer" must be a non-empty string');
  }

  const audienceList = typeof options.audience === "string" ? [options.audience] : options.audience;
  if (!Array.isArray(audienceList) || audienceList.length === 0) fail('"audience" is required');
  for (const audience of audienceList) {
    if (typeof audience !== "string" || audience === "")
      fail('"audience" entries must be non-empty strings');
  }

  const algorithms = options.algorithms ?? ["RS256"];
  if (algorithms.length === 0) fail('"algorithms" must not be empty');
  for (const alg of algorithms) {
    if (!SUPPORTED.has(alg)) {
      fail(`algorithm "${String(alg)}" is not supported (asymmetric RS/PS/ES/EdDSA only)`);
    }
  }

  const tokenCacheSize = options.tokenCacheSize ?? 10_000;
  if (tokenCacheSize !== false && (!Number.isInteger(tokenCacheSize) || tokenCacheSize < 0)) {
    fail('"tokenCacheSize" must be a non-negative integer or false');
  }

  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") fail('"fetch" must be a function');

  return {
    issuerBaseURL,
    issuer: options.issuer,
    jwksUri,
    audiences: new Set(audienceList),
    algorithms: new Set(algorithms),
    clockToleranceSeconds: duration("clockTolerance", options.clockTolerance, 5),
    requiredClaims: [...(options.requiredClaims ?? [])],
    maxTokenAgeSeconds:
      options.maxTokenAge === undefined
        ? undefined
        : duration("maxTokenAge", options.maxTokenAge, 0),
    strict: options.strict ?? false,
    validators: { ...(options.validators ?? {}) },
    maxTokenLength: duration("maxTokenLength", options.maxTokenLength, 8192, 1),
    jwksCacheMaxAge: duration("jwksCacheMaxAge", options.jwksCacheMaxAge, 600_000, 1),
    jwksMaxStaleness: duration("jwksMaxStaleness", options.jwksMaxStaleness, 3_600_000),
    jwksCooldown: duration("jwksCooldown", options.jwksCooldown, 30_000),
    discoveryMaxAge: duration("discoveryMaxAge", options.discoveryMaxAge, 86_400_000),
    timeout: duration("timeout", options.timeout, 5_000, 1),
    maxResponseSize: duration("maxResponseSize", options.maxResponseSize, 1_048_576, 1),
    allowInsecureHttp,
    tokenCacheSize: tokenCacheSize === false ? 0 : tokenCacheSize,
    tokenCacheMaxBytes: duration("tokenCacheMaxBytes", options.tokenCacheMaxBytes, 33_554_432, 1),
    // Called as a plain function: Workers refuse a `fetch` called as a method of another object.
    fetch: (input, init) => fetchImpl(input, init),
    now: options.now ?? Date.now,
    onEvent: options.onEvent,
  };
}
