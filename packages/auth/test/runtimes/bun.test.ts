import { bundle, TARGETS } from "./bundle.js";
import { describeConformance } from "./describe-conformance.js";
import { runReportingProgram } from "./run-program.js";
import { runtimeBinary } from "./runtime-binary.js";

// Bun resolves the "bun" condition: the node:crypto backend, which Bun implements natively.
describeConformance("Bun", async (host) => {
  const code = await bundle("./harness/print-report.ts", TARGETS.bun, {
    CONFORMANCE_PLAN: host.plan,
  });
  return runReportingProgram(runtimeBinary("bun"), (file) => ["run", file], code, {
    DO_NOT_TRACK: "1",
  });
});
