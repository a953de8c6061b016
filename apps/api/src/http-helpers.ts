import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The `Authorization` header as sent. Node keeps only the first of repeated `Authorization`
 * headers in `req.headers`; a repeated header must be refused (400), so it is returned as a list.
 */
export function readAuthorization(req: IncomingMessage): string | readonly string[] | undefined {
  const first = req.headers.authorization;
  if (first === undefined) return undefined;
  const raw = req.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === "authorization") {
      values.push(raw[i + 1] as string);
    }
  }
  return values.length > 1 ? values : first;
}

/** Sends a small JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    "cache-control": "no-store",
  });
  res.end(payload);
}
