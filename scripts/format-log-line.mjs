// One log line as a person reads it. Shared by `pnpm dev` (for every app it runs) and
// scripts/pretty-logs.mjs (for an app's own `dev` script), so an app prints the same alone as
// under `pnpm dev`.

const levelNames = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/**
 * A pino-style JSON line becomes "level msg key=value …" (time, pid and hostname dropped: the
 * terminal shows when and where); anything else comes back unchanged.
 * @param {string} line
 * @param {{ color?: boolean }} [options] `color` dims the key=value part.
 * @returns {string}
 */
export function formatLogLine(line, { color = false } = {}) {
  if (!line.startsWith("{")) return line;
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  const { level, time, pid, hostname, msg, ...rest } = record;
  const levelName = levelNames[level] ?? level;
  const fields = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const head = levelName === undefined ? "" : `${levelName} `;
  const tail = color ? `\x1b[2m${fields}\x1b[0m` : fields;
  return `${head}${msg ?? ""}${fields ? ` ${tail}` : ""}`;
}
