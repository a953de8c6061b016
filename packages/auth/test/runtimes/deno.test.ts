import { bundle, TARGETS } from "./bundle.js";
import { describeConformance } from "./describe-conformance.js";
import { runReportingProgram } from "./run-program.js";
import { runtimeBinary } from "./runtime-binary.js";

// Deno resolves the "deno" condition: WebCrypto. Its sandbox allows only the host's servers.
describeConformance("Deno", async (host) => {
  const code = await bundle("./harness/print-report.ts", TARGETS.deno, {
    CONFORMANCE_PLAN: host.plan,
  });
  return runReportingProgram(
    runtimeBinary("deno"),
    (file) => ["run", "--no-config", "--no-remote", "--allow-net=127.0.0.1", file],
    code,
    { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" },
  );
});
