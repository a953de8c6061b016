import { readEnv } from "./env.js";
import { armExitDeadline } from "./exit-deadline.js";
import { startIssuer } from "./issuer-server.js";
import { defaultKeysDir, devTenantPath } from "./package-paths.js";
import { runtimeSupportNotice } from "./runtime-support.js";
import { KeyFileError } from "./signing-keys.js";
import { TenantError } from "./tenant.js";

// close() drops the connections still open after 2 s; this much after SIGTERM the process is killed,
// whatever still holds it.
const EXIT_DEADLINE_MS = 5_000;

// What the issuer prints is for a reader that may be gone (EPIPE) or stalled: a failed write must
// neither crash it nor stop its shutdown. console writes to pipes asynchronously, so a stalled
// reader cannot block it.
for (const output of [process.stdout, process.stderr]) output.on("error", () => {});

function fail(message: string): never {
  console.error(`issuer: ${message}`);
  process.exit(1);
}

async function main() {
  const runtimeNotice = runtimeSupportNotice();
  if (runtimeNotice) console.warn(`issuer: ${runtimeNotice}`);
  let env: ReturnType<typeof readEnv>;
  try {
    env = readEnv();
  } catch (error) {
    fail((error as Error).message);
  }

  const port = env.ISSUER_PORT;
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  try {
    issuer = await startIssuer({
      port,
      host: env.ISSUER_HOST,
      ...(env.ISSUER_PUBLIC_URL ? { publicUrl: env.ISSUER_PUBLIC_URL } : {}),
      tenantFile: env.ISSUER_TENANT ?? devTenantPath,
      keysDir: env.ISSUER_KEYS_DIR ?? defaultKeysDir,
      https: env.ISSUER_HTTPS,
      dpopNonce: env.ISSUER_DPOP_NONCE,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      fail(
        `port ${port} is already in use (is an issuer already running?); stop it or set ISSUER_PORT to a free port`,
      );
    }
    if (code === "EACCES") fail(`not allowed to listen on port ${port}; set ISSUER_PORT`);
    if (error instanceof TenantError || error instanceof KeyFileError) fail(error.message);
    throw error;
  }

  console.info(
    `issuer ready at ${issuer.issuer} (token endpoint ${issuer.tokenEndpoint}, signing kid ${issuer.signingKid()})`,
  );
  if (issuer.certificate) {
    console.info(
      `issuer: self-signed certificate; Node clients trust it with NODE_EXTRA_CA_CERTS=${issuer.certificate.path}`,
    );
  }

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    armExitDeadline(EXIT_DEADLINE_MS);
    console.info(`issuer: ${signal} received, closing`);
    await issuer.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

await main();
