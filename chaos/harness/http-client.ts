import { Agent, type IncomingMessage, request } from "node:http";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpClient {
  /** Sends one request; rejects on a connection error (ECONNREFUSED, ECONNRESET, timeout). */
  send(options: {
    method?: string;
    url: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
  }): Promise<HttpAnswer>;
  close(): void;
}

/** Reads a whole response: status, headers and the body as text. */
export function readAnswer(res: IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("error", reject);
    res.on("end", () =>
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      }),
    );
  });
}

/**
 * A keep-alive HTTP/1.1 client on `node:http`: unlike `fetch`, it sends any header value HTTP
 * allows (tabs, obs-text), so hostile input reaches the server as generated.
 */
export function createHttpClient(maxSockets = 16): HttpClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    send({ method = "GET", url, headers = {}, body, timeoutMs = 15_000 }) {
      return new Promise((resolve, reject) => {
        const req = request(url, { method, headers, agent }, (res) => {
          readAnswer(res).then(resolve, reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** The URL and body of a single (unbatched) tRPC call over HTTP. */
export function trpcCall(
  baseUrl: string,
  procedure: string,
  kind: "query" | "mutation" = "query",
  input?: unknown,
): { method: string; url: string; body?: string; headers: Record<string, string> } {
  const url = `${baseUrl.replace(/\/$/, "")}/trpc/${procedure}`;
  if (kind === "mutation") {
    return {
      method: "POST",
      url,
      body: JSON.stringify(input ?? {}),
      headers: { "content-type": "application/json" },
    };
  }
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return { method: "GET", url: `${url}${query}`, headers: {} };
}
