import { describe, expect, it } from "vitest";
import type { ConformanceHost } from "./conformance-host.js";

/** Where the example API is served, and how a test sends it a request. */
export interface ExampleApi {
  /** Sends a request for `path` to the example API whose issuer is `issuer`. */
  fetch(issuer: "up" | "down", path: string, init?: RequestInit): Promise<Response>;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/**
 * The tRPC example (`example/trpc-edge-api.ts`) as a client sees it, served by `runtime`: the
 * `up` instance finds its keys by discovery at the host, the `down` one at an issuer whose
 * discovery fails.
 */
export function describeExampleApi(
  runtime: string,
  host: () => ConformanceHost,
  api: () => ExampleApi,
): void {
  describe(`the tRPC example on ${runtime}`, () => {
    it("answers a call with a valid token with the caller's claims", async () => {
      const response = await api().fetch("up", "/trpc/whoami", bearer(host().liveToken()));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        result: { data: { sub: "client-1@clients", scopes: ["read:items", "write:items"] } },
      });
    });

    it("answers 401 with a Bearer challenge without a token, or with an expired one", async () => {
      const missing = await api().fetch("up", "/trpc/whoami");
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      const seconds = Math.floor(Date.now() / 1000);
      const expired = host().liveToken({ iat: seconds - 7200, exp: seconds - 3600 });
      const refused = await api().fetch("up", "/trpc/whoami", bearer(expired));
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toMatch(
        /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
      );
    });

    it("answers 403 insufficient_scope naming the scope a call needs", async () => {
      const response = await api().fetch("up", "/trpc/report", bearer(host().liveToken()));
      expect(response.status).toBe(403);
      expect(response.headers.get("www-authenticate")).toBe(
        'Bearer realm="api", error="insufficient_scope", scope="read:reports"',
      );
    });

    it("answers 503 with Retry-After while its issuer cannot be reached", async () => {
      const response = await api().fetch("down", "/trpc/whoami", bearer(host().liveToken()));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    });
  });
}
