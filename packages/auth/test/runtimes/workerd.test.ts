import { afterAll, describe, expect, it } from "vitest";
import { bundle, TARGETS } from "./bundle.js";
import type { ConformanceReport } from "./conformance-suite.js";
import { describeConformance } from "./describe-conformance.js";
import { describeExampleApi } from "./describe-example-api.js";
import { startWorkerd, type Workerd } from "./workerd-server.js";

let workerd: Workerd | undefined;
afterAll(() => workerd?.close());

// workerd resolves "workerd": WebCrypto. One process serves the suite's Worker and two copies of
// the tRPC example, whose keys come from the host, or from an issuer that is down.
const host = describeConformance("workerd", async (conformanceHost) => {
  const example = await bundle("./example/trpc-edge-api.ts", TARGETS.workerd);
  const audience = conformanceHost.plan.audience;
  workerd = await startWorkerd([
    {
      name: "conformance",
      code: await bundle("./harness/conformance-worker.ts", TARGETS.workerd, {
        CONFORMANCE_PLAN: conformanceHost.plan,
      }),
    },
    {
      name: "requests",
      code: await bundle("./harness/request-scoped-worker.ts", TARGETS.workerd, {
        CONFORMANCE_PLAN: conformanceHost.plan,
      }),
    },
    {
      name: "up",
      code: example,
      bindings: { ISSUER_BASE_URL: conformanceHost.plan.issuer, AUDIENCE: audience },
    },
    {
      name: "down",
      code: example,
      bindings: { ISSUER_BASE_URL: `${conformanceHost.origin}/down/`, AUDIENCE: audience },
    },
  ]);
  const response = await fetch(`${workerd.url("conformance")}/conformance`);
  if (!response.ok)
    throw new Error(`${response.status}: ${await response.text()}\n${workerd.output()}`);
  return (await response.json()) as ConformanceReport;
});

describeExampleApi("workerd", host, () => ({
  fetch: (issuer, path, init) => fetch(`${workerd?.url(issuer)}${path}`, init),
}));

describe("a verifier and a token client shared by the requests of a Worker", () => {
  const MINUTE = 60_000;
  const call = async (route: string, ms: number) =>
    (await fetch(`${workerd?.url("requests")}${route}?at=${ms}`)).json() as Promise<unknown>;

  it("recovers the keys when a refresh was dropped with the request that started it", async () => {
    expect(await call("/verify", 0)).toEqual({ sub: "client-1@clients" });
    // Stale keys: this request answers at once and leaves a background refresh behind, which
    // workerd drops when the request ends.
    host().closeGate();
    expect(await call("/verify", 11 * MINUTE)).toEqual({ sub: "client-1@clients" });
    host().openGate();
    // Past the staleness bound the keys must be loaded again, in this request.
    expect(await call("/verify", 71 * MINUTE)).toEqual({ sub: "client-1@clients" });
  });

  it("keeps a token for later requests and replaces it once expired (refreshSkew: 0)", async () => {
    const first = await call("/token", 0);
    expect(first).toEqual({ token: expect.stringMatching(/^conformance-token-\d+$/) });
    expect(await call("/token", 59 * MINUTE)).toEqual(first);
    const next = await call("/token", 61 * MINUTE);
    expect(next).toEqual({ token: expect.stringMatching(/^conformance-token-\d+$/) });
    expect(next).not.toEqual(first);
  });
});
