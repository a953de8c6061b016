import { EdgeVM } from "@edge-runtime/vm";
import { bundle, TARGETS } from "./bundle.js";
import type { ConformanceHost } from "./conformance-host.js";
import type { ConformanceReport } from "./conformance-suite.js";
import { describeConformance } from "./describe-conformance.js";
import { describeExampleApi } from "./describe-example-api.js";
import type { PlainResponse } from "./harness/edge-vm-globals.js";

// The Vercel Edge runtime's sandbox, as Next.js runs edge routes locally: only web APIs, and the
// "edge-light" condition, hence WebCrypto. Each VM is one isolate with its own module state.
let code: string;
const vms = new Map<string, EdgeVM>();

function vm(name: string): EdgeVM {
  let found = vms.get(name);
  if (found === undefined) {
    found = new EdgeVM({ initialCode: code });
    vms.set(name, found);
  }
  return found;
}

const host = describeConformance("@edge-runtime/vm", async (conformanceHost: ConformanceHost) => {
  code = await bundle("./harness/edge-vm-globals.ts", TARGETS.edgeLight);
  const plan = JSON.stringify(conformanceHost.plan);
  return (await vm("conformance").evaluate(
    `edgeHarness.conformance(${plan})`,
  )) as ConformanceReport;
});

describeExampleApi("@edge-runtime/vm", host, () => ({
  async fetch(issuer, path, init) {
    const env = {
      ISSUER_BASE_URL: issuer === "up" ? host().plan.issuer : `${host().origin}/down/`,
      AUDIENCE: host().plan.audience,
    };
    const headers = Object.fromEntries(new Headers(init?.headers));
    const args = [env, `http://edge.local${path}`, headers].map((value) => JSON.stringify(value));
    const plain = (await vm(issuer).evaluate(
      `edgeHarness.example(${args.join(", ")})`,
    )) as PlainResponse;
    return new Response(plain.body, { status: plain.status, headers: plain.headers });
  },
}));
