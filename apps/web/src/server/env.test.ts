import { describe, expect, it } from "vitest";
import { parseWebEnv, parseWebhookEnv, WebEnvError } from "./env";

function problemsOf(
  source: Record<string, string | undefined>,
  parse: (source: Record<string, string | undefined>) => unknown = parseWebEnv,
): readonly string[] {
  try {
    parse(source);
  } catch (error) {
    if (error instanceof WebEnvError) return error.problems;
    throw error;
  }
  throw new Error("expected the environment to be rejected");
}

describe("parseWebEnv", () => {
  it("defaults to the dev issuer, the local API and the seeded writer client in development", () => {
    expect(parseWebEnv({})).toEqual({
      API_URL: "http://127.0.0.1:4000/trpc",
      ISSUER_BASE_URL: "http://127.0.0.1:4400/",
      TOKEN_ENDPOINT: undefined,
      CLIENT_ID: "dev-writer",
      CLIENT_SECRET: "dev-writer-secret",
      AUDIENCE: "https://api.example.local",
      REDIS_URL: undefined,
      REDIS_KEY_PREFIX: "web:tokens:",
      DPOP: "off",
    });
  });

  it("reads DPOP=on, and refuses other values without echoing them", () => {
    expect(parseWebEnv({ DPOP: "on" }).DPOP).toBe("on");
    expect(() => parseWebEnv({ DPOP: "yes-please" })).toThrow(/DPOP must be "on" or "off"/);
    expect(() => parseWebEnv({ DPOP: "yes-please" })).not.toThrow(/yes-please/);
  });

  it("treats empty values as unset", () => {
    expect(parseWebEnv({ API_URL: "", CLIENT_ID: "  " }).CLIENT_ID).toBe("dev-writer");
  });

  it("uses TOKEN_ENDPOINT alone when it is given, without the default issuer", () => {
    const env = parseWebEnv({ TOKEN_ENDPOINT: "https://tenant.example/oauth/token" });
    expect(env.TOKEN_ENDPOINT).toBe("https://tenant.example/oauth/token");
    expect(env.ISSUER_BASE_URL).toBeUndefined();
  });

  it("has no defaults in production: neither the published dev credentials nor local addresses", () => {
    expect(problemsOf({ NODE_ENV: "production" })).toEqual([
      "API_URL is required",
      "CLIENT_ID is required",
      "CLIENT_SECRET is required",
      "AUDIENCE is required",
      "ISSUER_BASE_URL (or TOKEN_ENDPOINT) is required",
    ]);
    const production = {
      NODE_ENV: "production",
      API_URL: "https://api.example.com/trpc",
      TOKEN_ENDPOINT: "https://tenant.example/oauth/token",
      CLIENT_ID: "web",
      CLIENT_SECRET: "a-real-secret",
      AUDIENCE: "https://api.example.com",
    };
    expect(parseWebEnv(production).TOKEN_ENDPOINT).toBe("https://tenant.example/oauth/token");
  });

  it("names every malformed variable and never echoes a value", () => {
    const problems = problemsOf({
      API_URL: "not a url",
      ISSUER_BASE_URL: "ftp://issuer.example",
      REDIS_URL: "http://redis.example",
      CLIENT_SECRET: "s3cr3t-value",
    });
    expect(problems.map((problem) => problem.split(" ")[0])).toEqual([
      "API_URL",
      "ISSUER_BASE_URL",
      "REDIS_URL",
    ]);
    expect(problems.join(" ")).not.toContain("s3cr3t-value");
    expect(problems.join(" ")).not.toContain("not a url");
  });

  it("accepts a rediss:// store URL", () => {
    expect(parseWebEnv({ REDIS_URL: "rediss://cache.example:6380/0" }).REDIS_URL).toBe(
      "rediss://cache.example:6380/0",
    );
  });
});

describe("parseWebhookEnv", () => {
  const problemsOfWebhook = (source: Record<string, string | undefined>) =>
    problemsOf(source, parseWebhookEnv);

  it("defaults to the dev issuer's API audience and write scope in development", () => {
    expect(parseWebhookEnv({})).toEqual({
      ISSUER_BASE_URL: "http://127.0.0.1:4400/",
      WEBHOOK_AUDIENCE: "https://api.example.local",
      WEBHOOK_SCOPE: "write:items",
    });
  });

  it("needs only its own variables in production, not the token client's", () => {
    expect(problemsOfWebhook({ NODE_ENV: "production" })).toEqual([
      "ISSUER_BASE_URL is required",
      "WEBHOOK_AUDIENCE is required",
      "WEBHOOK_SCOPE is required",
    ]);
    const webhook = {
      NODE_ENV: "production",
      ISSUER_BASE_URL: "https://tenant.example",
      WEBHOOK_AUDIENCE: "https://web.example/webhook",
      WEBHOOK_SCOPE: "send:events",
    };
    expect(parseWebhookEnv(webhook).ISSUER_BASE_URL).toBe("https://tenant.example/");
  });

  it("refuses a scope list or a quote where one scope is expected, without echoing it", () => {
    for (const scope of ["a b", 'a"b']) {
      const problems = problemsOfWebhook({ WEBHOOK_SCOPE: scope });
      expect(problems).toEqual(["WEBHOOK_SCOPE must be one scope token"]);
    }
  });
});
