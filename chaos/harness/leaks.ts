/** A JWT segment: base64url of a JSON object (`{"` encodes to `eyJ`). */
const JWT_SEGMENT = /eyJ[\w-]{20,}/;

/** The log lines that carry a token segment or one of `secrets`; there must be none. */
export function linesWithCredentials(
  lines: readonly string[],
  secrets: readonly string[] = [],
): string[] {
  return lines.filter(
    (line) => JWT_SEGMENT.test(line) || secrets.some((secret) => line.includes(secret)),
  );
}
