// workerd: one verifier and one token client for the isolate, as a real Worker keeps them, and a
// clock each request sets (`?at=<ms after the plan's clock>`), to follow them across requests.
// `/verify` verifies the plan's valid token; `/token` gets a token.
import { createAccessTokenVerifier, createClientCredentialsClient, isAuthError } from "@repo/auth";
import type { ConformancePlan } from "../conformance-suite.js";

declare const CONFORMANCE_PLAN: ConformancePlan;

const plan = CONFORMANCE_PLAN;
let current = plan.clock;
const now = () => current;
const verifier = createAccessTokenVerifier({
  issuer: plan.issuer,
  jwksUri: plan.jwks.gated,
  audience: plan.audience,
  now,
});
// No refresh ahead of expiry: on Workers a background refresh is dropped with the request that
// started it (see the package README).
const tokens = createClientCredentialsClient({
  tokenEndpoint: plan.tokenEndpoint,
  clientId: "conformance",
  clientSecret: "conformance-secret",
  audience: plan.audience,
  refreshSkew: 0,
  now,
});

const ROUTES: Record<string, () => Promise<unknown>> = {
  "/verify": async () => ({ sub: (await verifier.verify(plan.tokens.valid)).sub }),
  "/token": async () => ({ token: await tokens.getToken() }),
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = ROUTES[url.pathname];
    if (route === undefined) return new Response("ready");
    current = plan.clock + Number(url.searchParams.get("at"));
    try {
      return Response.json(await route());
    } catch (error) {
      return Response.json({ error: isAuthError(error) ? error.code : String(error) });
    }
  },
};
