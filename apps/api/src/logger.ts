import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

export type { Logger };

/**
 * The API's JSON logger: one object per line on stdout (or `destination`). Nothing logged by the
 * API carries a token or an `Authorization` header; request lines name the caller by `sub`/`azp`.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const options = { level, base: { service: "api" } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
