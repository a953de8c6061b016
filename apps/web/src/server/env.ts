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
  DPOP: z.enum(["on", "off"], { error: 'must be "on" or "off"' }),
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

/** One bad variable, named, without its value. */
function problemOf(issue: z.core.$ZodIssue): string {
  const name = String(issue.path[0] ?? "environment");
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return missing ? `${name} is required` : `${name} ${issue.message}`;
}

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
    DPOP: read("DPOP") ?? "off",
  };
  const result = schema.safeParse(input);
  const problems = (result.error?.issues ?? []).map(problemOf);
  // Checked beside the schema (not as a refinement) so it is reported with every other problem.
  if (input.ISSUER_BASE_URL === undefined && input.TOKEN_ENDPOINT === undefined) {
    problems.push("ISSUER_BASE_URL (or TOKEN_ENDPOINT) is required");
  }
  if (result.success && problems.length === 0) return result.data;
  throw new WebEnvError([...new Set(problems)]);
}

/**
 * Development defaults of the webhook: tokens the dev issuer grants for the API, with its write scope
 * (`pnpm -s token` gives one), so the endpoint can be tried locally. None applies in production.
 */
const webhookDevDefaults = {
  ISSUER_BASE_URL: devDefaults.ISSUER_BASE_URL,
  WEBHOOK_AUDIENCE: devDefaults.AUDIENCE,
  WEBHOOK_SCOPE: "write:items",
} as const;

const webhookSchema = z.object({
  ISSUER_BASE_URL: httpUrl,
  WEBHOOK_AUDIENCE: nonEmpty,
  WEBHOOK_SCOPE: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/, "must be one scope token"),
});

export type WebhookEnv = z.infer<typeof webhookSchema>;

/**
 * Validates what the webhook (`POST /api/webhook`, an edge route) needs and nothing else, so a
 * webhook deployment does not need the token client's credentials: the authorization server whose
 * tokens it accepts, the audience they must name and the scope they must grant.
 */
export function parseWebhookEnv(source: Source): WebhookEnv {
  const production = source.NODE_ENV === "production";
  const read = (name: keyof typeof webhookDevDefaults) =>
    source[name]?.trim() || (production ? undefined : webhookDevDefaults[name]);
  const result = webhookSchema.safeParse({
    ISSUER_BASE_URL: read("ISSUER_BASE_URL"),
    WEBHOOK_AUDIENCE: read("WEBHOOK_AUDIENCE"),
    WEBHOOK_SCOPE: read("WEBHOOK_SCOPE"),
  });
  if (result.success) return result.data;
  throw new WebEnvError(result.error.issues.map(problemOf));
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

let cachedWebhook: WebhookEnv | undefined;

/** The webhook's validated settings, read on first use. */
export function getWebhookEnv(): WebhookEnv {
  cachedWebhook ??= parseWebhookEnv(process.env);
  return cachedWebhook;
}
