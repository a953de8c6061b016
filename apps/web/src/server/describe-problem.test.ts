import { TokenEndpointError, TokenNetworkError, TokenRequestTimeoutError } from "@repo/auth";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { describeProblem } from "./describe-problem";
import { WebEnvError } from "./env";

const context = {
  apiUrl: "http://127.0.0.1:4000/trpc",
  issuer: "http://127.0.0.1:4400/",
  clientId: "dev-writer",
  audience: "https://api.example.local",
};

function apiError(httpStatus: number, code: string, auth: object | null = null) {
  return TRPCClientError.from({
    error: { code: -32000, message: "refused", data: { code, httpStatus, auth } },
  });
}

describe("describeProblem", () => {
  it("lists each bad variable for a configuration error", () => {
    const problem = describeProblem(new WebEnvError(["CLIENT_SECRET is required"]));
    expect(problem.kind).toBe("config");
    expect(problem.checks).toContain("`CLIENT_SECRET` is required");
  });

  it("tells credentials the issuer refuses from an issuer that does not answer", () => {
    const refused = new TokenEndpointError({ error: "invalid_client", status: 401 });
    const problem = describeProblem(TRPCClientError.from(refused), context);
    expect(problem.kind).toBe("issuer-rejected");
    expect(problem.summary).toContain("invalid_client");
    expect(problem.checks.join(" ")).toContain(context.clientId);

    for (const error of [
      new TokenNetworkError("token endpoint unreachable"),
      new TokenRequestTimeoutError(10_000),
      new TokenEndpointError({ error: "temporarily_unavailable", status: 503 }),
    ]) {
      const down = describeProblem(TRPCClientError.from(error), context);
      expect(down.kind).toBe("issuer-unreachable");
      expect(down.checks.join(" ")).toContain(context.issuer);
    }
  });

  it("explains an API that does not answer, pointing at API_URL", () => {
    const refused = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    const problem = describeProblem(TRPCClientError.from(refused), context);
    expect(problem.kind).toBe("api-unreachable");
    expect(problem.checks.join(" ")).toContain(context.apiUrl);
  });

  it("tells an API without keys (503) from a token the API rejects (401)", () => {
    const noKeys = describeProblem(
      apiError(503, "SERVICE_UNAVAILABLE", { code: "ERR_AUTH_KEYS_UNAVAILABLE", retryAfter: 30 }),
      context,
    );
    expect(noKeys.kind).toBe("api-keys-unavailable");
    expect(noKeys.checks.join(" ")).toContain("within 30 s");
    const rejected = describeProblem(apiError(401, "UNAUTHORIZED"), context);
    expect(rejected.kind).toBe("token-rejected");
    expect(rejected.checks.join(" ")).toContain(context.audience);
  });

  it("reports other server errors of the API with their status", () => {
    const problem = describeProblem(apiError(500, "INTERNAL_SERVER_ERROR"), context);
    expect(problem.kind).toBe("api-error");
    expect(problem.summary).toContain("500");
    // A 503 without the API's "keys unavailable" code (a proxy, a restart) is not blamed on keys.
    const unavailable = describeProblem(apiError(503, "SERVICE_UNAVAILABLE"), context);
    expect(unavailable.kind).toBe("api-error");
    expect(unavailable.summary).toContain("503");
  });

  it("treats anything else as unexpected, without quoting its message", () => {
    const problem = describeProblem(new Error("secret-looking detail"), context);
    expect(problem.kind).toBe("unexpected");
    expect(JSON.stringify(problem)).not.toContain("secret-looking detail");
  });
});
