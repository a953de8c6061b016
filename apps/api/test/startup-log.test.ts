import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { AUDIENCE } from "./fixtures/signer.js";
import { startTestApi } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// What an operator reads in the log of an API that starts, and of one that cannot get its keys.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function apiLogs(env: Record<string, string>) {
  // Long enough for a loaded machine to answer a local 404 in time; a refused connection fails at once.
  const { api, logs } = await startTestApi({ AUDIENCE, JWKS_TIMEOUT: "3", ...env });
  cleanups.push(() => api.close());
  return logs;
}

/** The first log line whose message matches, once one is written. */
const lineMatching = (logs: Awaited<ReturnType<typeof apiLogs>>, pattern: RegExp) =>
  waitFor(
    () => logs.records().find((record) => pattern.test(String(record.msg))),
    `a log line matching ${pattern}`,
  );

describe("the API's log", () => {
  it("says at start which issuer, audience and algorithms it trusts, without credentials", async () => {
    const keys: KeyServer = await startKeyServer(() => []);
    cleanups.push(() => keys.close());
    const withCredentials = keys.issuer.replace("http://", "http://operator:s3cret@");
    const logs = await apiLogs({
      ISSUER_BASE_URL: withCredentials,
      TOKEN_SIGNING_ALG: "RS256,ES256",
    });
    expect(await lineMatching(logs, /^verifying access tokens$/)).toMatchObject({
      issuerBaseURL: keys.issuer,
      audience: [AUDIENCE],
      algorithms: ["RS256", "ES256"],
    });
    expect(logs.lines.join("\n")).not.toContain("s3cret");
  });

  it("says in words that ISSUER_BASE_URL is not reachable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const issuer = `http://127.0.0.1:${port}/`;
    const line = await lineMatching(await apiLogs({ ISSUER_BASE_URL: issuer }), /not reachable/);
    expect(line).toMatchObject({ level: 40, resource: "discovery", reason: "network" });
    expect(line.msg).toBe(
      `ISSUER_BASE_URL ${issuer} is not reachable (${issuer}.well-known/openid-configuration): check the URL and that the authorization server is up`,
    );
  });

  it("says in words what ISSUER_BASE_URL and JWKS_URI answered instead of their documents", async () => {
    const keys = await startKeyServer(() => []);
    cleanups.push(() => keys.close());
    const wrongPath = await apiLogs({ ISSUER_BASE_URL: `${keys.issuer}tenant/` });
    expect((await lineMatching(wrongPath, /answered 404/)).msg).toMatch(
      /^ISSUER_BASE_URL http:\/\/127\.0\.0\.1:\d+\/tenant\/ answered 404 \(.*\): check the URL/,
    );
    const noKeys = await apiLogs({
      JWKS_URI: `${keys.issuer}keys.json`,
      ISSUER: keys.issuer,
    });
    expect((await lineMatching(noKeys, /^JWKS_URI/)).msg).toBe(
      `JWKS_URI ${keys.issuer}keys.json answered 404 (${keys.issuer}keys.json): check the URL`,
    );
  });
});
