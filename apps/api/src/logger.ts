import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";
import { createLogDestination } from "./log-destination.js";

export type { Logger };

/**
 * The API's JSON logger: one object per line on stdout (or `destination`), through a destination
 * that never blocks the process (`log-destination.ts`). Nothing logged by the API carries a token
 * or an `Authorization` header; request lines name the caller by `sub`/`azp`.
 */
export function createLogger(
  level: LevelWithSilent,
  destination: DestinationStream = createLogDestination(),
): Logger {
  return pino({ level, base: { service: "api" } }, destination);
}
