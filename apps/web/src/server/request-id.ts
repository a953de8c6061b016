import "server-only";
import { randomUUID } from "node:crypto";
import { headers } from "next/headers";
import { cache } from "react";

/** The header that carries a request's id from the browser's request to the API and its logs. */
export const REQUEST_ID_HEADER = "x-request-id";

// What a proxy or load balancer sends as an id (UUIDs, trace ids such as `Root=1-…;Parent=…`);
// anything else (too long, spaces, control characters) is replaced rather than passed on.
const usableId = /^[\w.:/+=;-]{1,128}$/;

/** The incoming id when it is usable, else a new one. */
export function requestIdFrom(incoming: string | null | undefined): string {
  return incoming && usableId.test(incoming) ? incoming : randomUUID();
}

/**
 * The id of the page request being served: the incoming `x-request-id` or a new one, the same for
 * every API call the request makes (React's `cache` holds it for the request).
 */
export const getRequestId = cache(
  async (): Promise<string> => requestIdFrom((await headers()).get(REQUEST_ID_HEADER)),
);
