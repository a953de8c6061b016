// @edge-runtime/vm: evaluated as a script in the VM, this leaves `edgeHarness` on its global
// object, for the test to call from outside. Requests are built inside the VM, so the example
// sees the VM's own Request and Response.
import * as auth from "@repo/auth";
import { type ConformancePlan, runConformance } from "../conformance-suite.js";
import { type EdgeApiEnv, handleApiRequest } from "../example/trpc-edge-api.js";

/** A response as plain data, to cross from the VM back to the test. */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const conformance = (plan: ConformancePlan) => runConformance(auth, plan);

export async function example(
  env: EdgeApiEnv,
  url: string,
  headers: Record<string, string>,
): Promise<PlainResponse> {
  const response = await handleApiRequest(new Request(url, { headers }), env);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
}
