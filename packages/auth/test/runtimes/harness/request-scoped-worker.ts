// workerd: one verifier for the isolate, as a real Worker keeps it, and a clock each request sets
// (`?at=<ms after the plan's clock>`), to follow a key refresh across requests.
import { createAccessTokenVerifier, isAuthError } from "@repo/auth";
import type { ConformancePlan } from "../conformance-suite.js";

declare const CONFORMANCE_PLAN: ConformancePlan;

const plan = CONFORMANCE_PLAN;
let current = plan.clock;
const verifier = createAccessTokenVerifier({
  issuer: plan.issuer,
  jwksUri: plan.jwks.gated,
  audience: plan.audience,
  now: () => current,
});

export default {
  async fetch(request: Request): Promise<Response> {
    const at = new URL(request.url).searchParams.get("at");
    if (at === null) return new Response("ready");
    current = plan.clock + Number(at);
    try {
      return Response.json({ sub: (await verifier.verify(plan.tokens.valid)).sub });
    } catch (error) {
      return Response.json({ error: isAuthError(error) ? error.code : String(error) });
    }
  },
};
