import { afterAll } from "vitest";
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
