import { parseEnv } from "./env.js";
import { createLogger } from "./logger.js";
import { ListenError, startApiServer } from "./server.js";

const env = parseEnv(process.env);
if (!env.ok) {
  process.stderr.write(`${env.message}\n`);
  process.exit(1);
}

const logger = createLogger(env.config.logLevel);

try {
  const api = await startApiServer(env.config, { logger });
  logger.info({ url: api.url }, "listening");

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
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
