import "server-only";
import { z } from "zod";

/**
 * Development defaults: apps/issuer's seeded writer client and the local API. None applies in
 * production: the dev secret is published, and a forgotten variable must not send a real secret or
 * token to whatever listens on a local port.
 */
const devDefaults = {
  API_URL: "http://127.0.0.1:4000/trpc",
  ISSUER_BASE_URL: "http://127.0.0.1:4400/",
  CLIENT_ID: "dev-writer",
  CLIENT_SECRET: "dev-writer-secret",
  AUDIENCE: "https://api.example.local",
} as const;

const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((value) => new URL(value).toString());

const nonEmpty = z.string().trim().min(1, "must not be empty");

const schema = z.object({
  API_URL: httpUrl,
  ISSUER_BASE_URL: httpUrl.optional(),
  TOKEN_ENDPOINT: httpUrl.optional(),
  CLIENT_ID: nonEmpty,
  CLIENT_SECRET: nonEmpty,
  AUDIENCE: nonEmpty,
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[\w:.-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 _ : . -"),
});

export type WebEnv = z.infer<typeof schema>;

/** Thrown when the environment is unusable; names every bad variable, never echoes a value. */
export class WebEnvError extends Error {
  override readonly name = "WebEnvError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid web app environment: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

type Source = Readonly<Record<string, string | undefined>>;

/**
 * Validates the web app's environment. Empty strings count as unset, so `FOO=` in a shell or an
 * .env file falls back to the default instead of failing as "not a URL".
 */
export function parseWebEnv(source: Source): WebEnv {
  const production = source.NODE_ENV === "production";
  const read = (name: string) => {
    const value = source[name]?.trim();
    return value ? value : undefined;
  };
  const withDefault = (name: keyof typeof devDefaults) =>
    read(name) ?? (production ? undefined : devDefaults[name]);

  const explicitEndpoint = read("TOKEN_ENDPOINT");
  const input = {
    API_URL: withDefault("API_URL"),
    ISSUER_BASE_URL: explicitEndpoint ? read("ISSUER_BASE_URL") : withDefault("ISSUER_BASE_URL"),
    TOKEN_ENDPOINT: explicitEndpoint,
    CLIENT_ID: withDefault("CLIENT_ID"),
    CLIENT_SECRET: withDefault("CLIENT_SECRET"),
    AUDIENCE: withDefault("AUDIENCE"),
    REDIS_URL: read("REDIS_URL"),
    REDIS_KEY_PREFIX: read("REDIS_KEY_PREFIX") ?? "web:tokens:",
  };
  const result = schema.safeParse(input);
  const problems = (result.error?.issues ?? []).map((issue) => {
    const name = String(issue.path[0] ?? "environment");
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    return missing ? `${name} is required` : `${name} ${issue.message}`;
  });
  // Checked beside the schema (not as a refinement) so it is reported with every other problem.
  if (input.ISSUER_BASE_URL === undefined && input.TOKEN_ENDPOINT === undefined) {
    problems.push("ISSUER_BASE_URL (or TOKEN_ENDPOINT) is required");
  }
  if (result.success && problems.length === 0) return result.data;
  throw new WebEnvError([...new Set(problems)]);
}

let cached: WebEnv | undefined;

/**
 * The validated environment, read on first use: Next renders these pages at request time, so a
 * missing variable surfaces as a clear page instead of a failed build.
 */
export function getWebEnv(): WebEnv {
  cached ??= parseWebEnv(process.env);
  return cached;
}
