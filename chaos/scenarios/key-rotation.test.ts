import { waitFor } from "@repo/test-utils";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { startLoad } from "../harness/load.js";
import { sumSamples } from "../harness/prometheus.js";
import { rotateSigningKeys } from "../harness/rotate-keys.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";

const defer = useTeardown();

const ROTATIONS = 3;

describe("signing keys rotate while the web app calls the API", () => {
  it("loses no call across three rotations (new keys published before they sign, old ones retired after)", async () => {
    // Tokens live 6 s, so the web app moves to each new key within seconds of a rotation and the
    // superseded key's grace period ends within the test.
    const system = await startSystem(defer, {
      tokenLifetime: 6,
      tuning: { cacheMaxAge: 2, cooldown: 1 },
    });
    const web = system.tokenClient();
    const http = createHttpClient(4);
    defer(() => http.close());
    const kidsUsed: string[] = [];
    const load = startLoad(
      async () => {
        const token = await web.client.getToken();
        const kid = String(decodeProtectedHeader(token).kid);
        if (!kidsUsed.includes(kid)) kidsUsed.push(kid);
        const answer = await http.send({
          ...trpcCall(system.api.url, "items.list"),
          headers: { authorization: `Bearer ${token}` },
        });
        return String(answer.status);
      },
      { concurrency: 3, pauseMs: 20 },
    );
    defer(() => load.stop());
    await waitFor(() => load.records.length >= 20, { message: "warm-up calls" });
    const firstKid = system.issuer.signingKid();

    for (let i = 0; i < ROTATIONS; i++) {
      await rotateSigningKeys(system);
      // The issuer reloads the keys file on its next request; the web app's next token uses it.
      await waitFor(
        async () => {
          await fetch(system.issuer.jwksUri);
          const kid = system.issuer.signingKid();
          return kidsUsed.includes(kid) && kidsUsed.length === i + 2;
        },
        { timeout: 20_000, message: `calls signed with the key of rotation ${i + 1}` },
      );
    }
    const doneAt = Date.now();
    await waitFor(() => load.records.filter((r) => r.startedAt > doneAt).length >= 20, {
      message: "calls after the last rotation",
    });
    const summary = await load.stop();

    const metrics = await system.api.metrics();
    const rejected = sumSamples(metrics, "api_token_verifications_total", { result: "rejected" });
    const published = (
      (await (await fetch(system.issuer.jwksUri)).json()) as { keys: { kid: string }[] }
    ).keys.map((key) => key.kid);
    console.info(
      `key rotation: outcomes ${JSON.stringify(summary.outcomes)}, kids used ${kidsUsed.length}, ` +
        `token POSTs ${system.proxy.count(system.tokenPath, "POST")}, JWKS fetches ` +
        `${system.proxy.count(system.jwksPath)}, rejected verifications ${rejected}, published ${published.length}`,
    );

    expect(summary.outcomes).toEqual({ 200: summary.total });
    expect(rejected).toBe(0);
    expect(kidsUsed).toHaveLength(ROTATIONS + 1);
    expect(kidsUsed[0]).toBe(firstKid);
    // The first key's grace (the 6 s token lifetime) ended before the last rotation: retired.
    expect(published).not.toContain(firstKid);
    expect(published).toContain(kidsUsed.at(-1));
    // Thousands of verified calls, and not one token in the API's log.
    expect(linesWithCredentials(system.logLines())).toEqual([]);
  });
});
