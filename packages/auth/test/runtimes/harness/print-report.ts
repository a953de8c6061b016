// Deno and Bun: runs the suite with the plan the test bundled in, and prints the report.
import * as auth from "@repo/auth";
import { type ConformancePlan, runConformance } from "../conformance-suite.js";

declare const CONFORMANCE_PLAN: ConformancePlan;

console.log(JSON.stringify(await runConformance(auth, CONFORMANCE_PLAN)));
