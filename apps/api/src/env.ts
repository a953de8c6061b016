import {
  type DpopMode,
  type ScopeSource,
  SUPPORTED_ALGORITHMS,
  type VerifierAlgorithm,
} from "@repo/auth";
import { z } from "zod";

const isSupportedAlgorithm = (alg: string): alg is VerifierAlgorithm =>
  (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg);

const DPOP_MODES = ["allowed", "required", "disabled"] as const satisfies readonly DpopMode[];
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
const SCOPE_SOURCES = ["scope", "permissions", "either"] as const satisfies readonly ScopeSource[];

const DEV_ISSUER_BASE_URL = "http://127.0.0.1:4400/";
const DEV_AUDIENCE = "https://api.example.local";

const unset = (value: unknown) =>
  value === undefined || (typeof value === "string" && value.trim() === "") ? undefined : value;

const url = (what: string) =>
  z.preprocess(
    unset,
    z
      .string()
      .trim()
      .refine(
        (value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol),
        `must be an absolute http(s) URL (${what})`,
      )
      .optional(),
  );

// Entries are trimmed; an empty one (a stray or doubled comma) is refused rather than skipped, as
// it usually means a value went missing.
const commaList = <T extends string>(item: z.ZodType<T>, fallback: string) =>
  z.preprocess(
    (value) =>
      String(unset(value) ?? fallback)
        .split(",")
        .map((part) => part.trim()),
    z
      .array(item)
      .refine((parts) => parts.every((part) => part !== ""), "has an empty entry (a stray comma?)"),
  );

// An API identifier: an absolute URI (`https://api.example.com`, `urn:example:api`), as Auth0
// recommends, or a plain name of letters, digits and `. _ ~ / -` (Auth0 accepts any string).
// Empty entries are the list's to refuse.
const ABSOLUTE_URI = /^[a-z][a-z\d+.-]*:\S+$/i;
const IDENTIFIER = /^[a-z\d][\w.~/-]*$/i;
const isAudience = (value: string) =>
  value === "" ||
  (value.includes(":") ? ABSOLUTE_URI.test(value) && URL.canParse(value) : IDENTIFIER.test(value));

const seconds = z.preprocess(
  unset,
  z.coerce
    .number({ error: "must be a number of seconds" })
    .refine(Number.isFinite, "must be a finite number of seconds")
    .nonnegative("must not be negative")
    .optional(),
);

const schema = z.object({
  NODE_ENV: z.preprocess(unset, z.string().optional()),
  ISSUER_BASE_URL: url("the authorization server, e.g. https://tenant.auth0.com/"),
  ISSUER: z.preprocess(unset, z.string().trim().optional()),
  JWKS_URI: url("the JSON Web Key Set of the authorization server"),
  AUDIENCE: commaList(z.string(), DEV_AUDIENCE).check((ctx) => {
    const refused = ctx.value.filter((audience) => !isAudience(audience));
    if (refused.length > 0) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${refused.map((audience) => `"${audience}"`).join(", ")} is neither an absolute URI (https://api.example.com) nor an identifier of letters, digits and . _ ~ / -`,
      });
    }
  }),
  TOKEN_SIGNING_ALG: commaList(z.string(), "RS256").check((ctx) => {
    const refused = ctx.value.filter((alg) => !isSupportedAlgorithm(alg));
    if (refused.length > 0) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${refused.map((alg) => `"${alg}"`).join(", ")} not allowed; use ${SUPPORTED_ALGORITHMS.join(", ")}`,
      });
    }
  }),
  PORT: z.preprocess(
    (value) => unset(value) ?? "4000",
    z.coerce
      .number({ error: "must be a port number" })
      .int("must be a whole number")
      .min(0, "must be between 0 and 65535")
      .max(65535, "must be between 0 and 65535"),
  ),
  HOST: z.preprocess((value) => unset(value) ?? "127.0.0.1", z.string().trim()),
  CLOCK_TOLERANCE: seconds,
  JWKS_CACHE_MAX_AGE: seconds,
  JWKS_MAX_STALE: seconds,
  JWKS_COOLDOWN: seconds,
  JWKS_TIMEOUT: seconds,
  SHUTDOWN_TIMEOUT: seconds,
  ALLOW_INSECURE_HTTP: z.preprocess(
    unset,
    z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
  ),
  MAX_STREAMS_PER_CLIENT: z.preprocess(
    (value) => unset(value) ?? "100",
    z.coerce
      .number({ error: "must be a whole number" })
      .int("must be a whole number")
      .min(1, "must be at least 1"),
  ),
  SCOPES_FROM: z.preprocess(
    (value) => unset(value) ?? "scope",
    z.enum(SCOPE_SOURCES, { error: `must be one of ${SCOPE_SOURCES.join(", ")}` }),
  ),
  DPOP: z.preprocess(
    (value) => unset(value) ?? "allowed",
    z.enum(DPOP_MODES, { error: `must be one of ${DPOP_MODES.join(", ")}` }),
  ),
  DPOP_NONCE: z.preprocess(
    (value) => unset(value) ?? "off",
    z.enum(["on", "off"], { error: 'must be "on" or "off"' }),
  ),
  DPOP_NONCE_SECRET: z.preprocess(
    unset,
    z.string().min(32, "must have at least 32 characters (e.g. openssl rand -hex 32)").optional(),
  ),
  DPOP_IAT_WINDOW: seconds,
  PUBLIC_URL: url("the API's public base URL, as its clients address it"),
  REDIS_URL: z.preprocess(
    unset,
    z
      .string()
      .trim()
      .refine(
        (value) => URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol),
        "must be a redis:// or rediss:// URL",
      )
      .optional(),
  ),
  DATABASE_URL: z.preprocess(
    unset,
    z
      .string()
      .trim()
      .refine(
        (value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol),
        "must be a postgres:// or postgresql:// URL",
      )
      .optional(),
  ),
  DATA_DIR: z.preprocess(unset, z.string().trim().optional()),
  DATABASE_POOL_SIZE: z.preprocess(
    (value) => unset(value) ?? "10",
    z.coerce
      .number({ error: "must be a number of connections" })
      .int("must be a whole number")
      .min(1, "must be between 1 and 1000")
      .max(1000, "must be between 1 and 1000"),
  ),
  DATABASE_STATEMENT_TIMEOUT: seconds,
  LOG_LEVEL: z.preprocess(
    (value) => unset(value) ?? "info",
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }),
  ),
});

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function isRemoteHttp(value: string | undefined): boolean {
  const text = value?.trim();
  if (!text || !URL.canParse(text)) return false;
  const url = new URL(text);
  return url.protocol === "http:" && !LOOPBACK_HOSTS.test(url.hostname);
}

/** The API's validated configuration; durations are in seconds, as operators write them. */
export interface ApiConfig {
  issuerBaseURL: string | undefined;
  issuer: string | undefined;
  jwksUri: string | undefined;
  audience: string[];
  algorithms: VerifierAlgorithm[];
  port: number;
  host: string;
  clockTolerance: number | undefined;
  jwksCacheMaxAge: number | undefined;
  jwksMaxStale: number | undefined;
  jwksCooldown: number | undefined;
  jwksTimeout: number | undefined;
  shutdownTimeout: number;
  /** Plain `http:` for the authorization server on any host, not only loopback ones. */
  allowInsecureHttp: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Which claims grant scopes: `scope`, Auth0's RBAC `permissions`, or `either`. */
  scopesFrom: ScopeSource;
  /** Open subscription streams one client may hold on this instance; more are answered 429. */
  maxStreamsPerClient: number;
  /** Postgres; unset → the embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** PGlite's directory (`memory://` keeps nothing); unset → apps/api/.data. */
  dataDir: string | undefined;
  /** Most Postgres connections per instance. */
  databasePoolSize: number;
  /** Seconds a statement may run; 0 = no limit. */
  databaseStatementTimeout: number;
  /** DPoP (RFC 9449): the mode, server nonces, the proofs' `iat` window (seconds). */
  dpop: {
    mode: DpopMode;
    nonce: boolean;
    /** The nonces' HMAC key; unset with nonces on: a random one per process. */
    nonceSecret: string | undefined;
    iatWindow: number | undefined;
  };
  /** The API's public base URL (DPoP `htu`); unset: the URL it listens on. */
  publicUrl: string | undefined;
  /** Redis for the DPoP replay store shared by a fleet; unset: process memory. */
  redisUrl: string | undefined;
}

export type EnvResult = { ok: true; config: ApiConfig } | { ok: false; message: string };

/**
 * Reads the API's configuration from environment variables.
 *
 * Every value has a development default pointing at apps/issuer, except that with
 * `NODE_ENV=production` the authorization server and the audience must be named explicitly, so a
 * forgotten variable cannot make a production API trust a local development issuer.
 *
 * @example
 * const env = parseEnv(process.env);
 * if (!env.ok) { console.error(env.message); process.exit(1); }
 */
export function parseEnv(env: Record<string, string | undefined>): EnvResult {
  const parsed = schema.safeParse(env);
  const problems = new Map<string, string[]>();
  const report = (name: string, problem: string) =>
    problems.set(name, [...(problems.get(name) ?? []), problem]);

  if (!parsed.success) {
    for (const issue of parsed.error.issues) report(String(issue.path[0] ?? "env"), issue.message);
  }
  if (env.NODE_ENV === "production") {
    if (unset(env.ISSUER_BASE_URL) === undefined && unset(env.JWKS_URI) === undefined) {
      report("ISSUER_BASE_URL", "is required in production (or set JWKS_URI and ISSUER)");
    }
    if (unset(env.AUDIENCE) === undefined) report("AUDIENCE", "is required in production");
  }
  if (unset(env.JWKS_URI) !== undefined && unset(env.ISSUER) === undefined) {
    if (unset(env.ISSUER_BASE_URL) === undefined) {
      report("ISSUER", "is required with JWKS_URI when ISSUER_BASE_URL is not set");
    }
  }

  if (env.ALLOW_INSECURE_HTTP !== "true") {
    for (const name of ["ISSUER_BASE_URL", "JWKS_URI"] as const) {
      if (isRemoteHttp(env[name])) {
        report(
          name,
          "uses plain http on a non-loopback host: use https (or ALLOW_INSECURE_HTTP=true)",
        );
      }
    }
  }

  if (!parsed.success || problems.size > 0) {
    const lines = [...problems].map(([name, list]) => `  ${name}: ${list.join("; ")}`);
    return {
      ok: false,
      message: `Invalid environment for the API (${problems.size} variable${problems.size === 1 ? "" : "s"}):\n${lines.join("\n")}`,
    };
  }

  const value = parsed.data;
  const noDiscoveryTarget = value.ISSUER_BASE_URL === undefined && value.JWKS_URI === undefined;
  return {
    ok: true,
    config: {
      issuerBaseURL: noDiscoveryTarget ? DEV_ISSUER_BASE_URL : value.ISSUER_BASE_URL,
      issuer: value.ISSUER,
      jwksUri: value.JWKS_URI,
      audience: value.AUDIENCE,
      algorithms: value.TOKEN_SIGNING_ALG.filter(isSupportedAlgorithm),
      port: value.PORT,
      host: value.HOST,
      clockTolerance: value.CLOCK_TOLERANCE,
      jwksCacheMaxAge: value.JWKS_CACHE_MAX_AGE,
      jwksMaxStale: value.JWKS_MAX_STALE,
      jwksCooldown: value.JWKS_COOLDOWN,
      jwksTimeout: value.JWKS_TIMEOUT,
      shutdownTimeout: value.SHUTDOWN_TIMEOUT ?? 10,
      allowInsecureHttp: value.ALLOW_INSECURE_HTTP === "true",
      logLevel: value.LOG_LEVEL,
      scopesFrom: value.SCOPES_FROM,
      maxStreamsPerClient: value.MAX_STREAMS_PER_CLIENT,
      databaseUrl: value.DATABASE_URL,
      dataDir: value.DATA_DIR,
      databasePoolSize: value.DATABASE_POOL_SIZE,
      databaseStatementTimeout: value.DATABASE_STATEMENT_TIMEOUT ?? 5,
      dpop: {
        mode: value.DPOP,
        nonce: value.DPOP_NONCE === "on",
        nonceSecret: value.DPOP_NONCE_SECRET,
        iatWindow: value.DPOP_IAT_WINDOW,
      },
      publicUrl: value.PUBLIC_URL,
      redisUrl: value.REDIS_URL,
    },
  };
}
