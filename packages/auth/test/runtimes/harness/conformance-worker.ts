// workerd: a Worker that runs the suite with the plan the test bundled in, when asked.
import * as auth from "@repo/auth";
import { type ConformancePlan, runConformance } from "../conformance-suite.js";

declare const CONFORMANCE_PLAN: ConformancePlan;

export default {
  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/conformance") return new Response("ready");
    return Response.json(await runConformance(auth, CONFORMANCE_PLAN));
  },
};
