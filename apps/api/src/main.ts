import { parseEnv } from "./env.js";
import { armExitDeadline } from "./exit-deadline.js";
import { createLogger } from "./logger.js";
import { ListenError, startApiServer } from "./server.js";

const env = parseEnv(process.env);
if (!env.ok) {
  process.stderr.write(`${env.message}\n`);
  process.exit(1);
}

const logger = createLogger(env.config.logLevel);
// After SHUTDOWN_TIMEOUT the last connections are dropped; this much later the process is killed,
// whatever still holds it.
const EXIT_GRACE_SECONDS = 1;

try {
  const api = await startApiServer(env.config, { logger });
  logger.info({ url: api.url }, "listening");

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    armExitDeadline((env.config.shutdownTimeout + EXIT_GRACE_SECONDS) * 1000);
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    await api.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (error) {
  if (error instanceof ListenError) {
    logger.fatal({ code: error.code, port: env.config.port, host: env.config.host }, error.message);
  } else {
    logger.fatal({ err: error }, "cannot start the API");
  }
  process.exit(1);
}
