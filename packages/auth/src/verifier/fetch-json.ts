import { readCappedBody } from "../read-capped-body.js";
import { unrefTimer } from "../unref-timer.js";
import type { JwksFailureReason } from "./types.js";

/** A discovery or JWKS request that failed; `reason` is a stable label. */
export class FetchJsonError extends Error {
  override name = "FetchJsonError";
  readonly reason: JwksFailureReason;
  readonly status: number | undefined;

  constructor(reason: JwksFailureReason, status?: number, options?: { cause?: unknown }) {
    super(`Request failed: ${reason}${status === undefined ? "" : ` (${status})`}`, options);
    this.reason = reason;
    this.status = status;
  }
}

export interface FetchJsonOptions {
  fetch: typeof globalThis.fetch;
  timeout: number;
  maxResponseSize: number;
}

async function readCapped(response: Response, maxSize: number): Promise<string> {
  const body = await readCappedBody(response, maxSize);
  if (body === undefined) throw new FetchJsonError("too_large");
  return new TextDecoder().decode(body);
}

/**
 * GETs a JSON document with a deadline covering headers and body, a body size cap, and redirects
 * refused (a JWKS location must be configured, not handed over by a 3xx).
 */
export async function fetchJson(url: URL, options: FetchJsonOptions): Promise<unknown> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new FetchJsonError("timeout"));
    }, options.timeout);
    unrefTimer(timer);
  });
  const request = (async () => {
    let response: Response;
    try {
      response = await options.fetch(url, {
        method: "GET",
        headers: { accept: "application/json, application/jwk-set+json" },
        redirect: "manual",
        signal: controller.signal,
      });
    } catch (cause) {
      throw new FetchJsonError("network", undefined, { cause });
    }
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      await response.body?.cancel().catch(() => {});
      throw new FetchJsonError("redirect", response.status);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new FetchJsonError("status", response.status);
    }
    let text: string;
    try {
      text = await readCapped(response, options.maxResponseSize);
    } catch (cause) {
      if (cause instanceof FetchJsonError) throw cause;
      throw new FetchJsonError("network", undefined, { cause });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new FetchJsonError("invalid_json", undefined, { cause });
    }
  })();
  try {
    return await Promise.race([request, deadline]);
  } finally {
    clearTimeout(timer);
    // The losing side of the race must not surface as an unhandled rejection.
    request.catch(() => {});
  }
}
