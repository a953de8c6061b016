import "server-only";
import { causes } from "./error-causes";

/**
 * The codes of a connection the other side dropped: reset (`ECONNRESET`), closed before the answer
 * (undici's `UND_ERR_SOCKET`, "other side closed") or closed while the request was written
 * (`EPIPE`). A refused connection (`ECONNREFUSED`) is not among them: nothing is listening, and
 * asking again at once would only hide an outage for the time of one more connect.
 */
const resetCodes: ReadonlySet<string> = new Set(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"]);

/** Methods that must not change anything on the server, so sending them twice is harmless. */
const idempotentMethods: ReadonlySet<string> = new Set(["GET", "HEAD"]);

/** fetch reports the socket's error as its `cause`. */
function isConnectionReset(error: unknown): boolean {
  for (const item of causes(error)) {
    const code = (item as { code?: unknown }).code;
    if (typeof code === "string" && resetCodes.has(code)) return true;
  }
  return false;
}

const methodOf = (input: Parameters<typeof fetch>[0], init: RequestInit | undefined) =>
  (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();

const callerAborted = (input: Parameters<typeof fetch>[0], init: RequestInit | undefined) =>
  Boolean(init?.signal?.aborted) || (input instanceof Request && input.signal.aborted);

/**
 * Wraps a fetch so a GET or HEAD whose connection is reset before an answer arrives is sent once
 * more, at once. A server that restarts closes its idle keep-alive connections, and a request
 * written to one of them at that moment is lost although a new connection (to the restarted
 * server, or to another instance behind the balancer) would be answered: browsers and HTTP
 * clients resend idempotent requests in that case, and so does this. The second failure is
 * thrown as it is, so a server that is really gone still shows as gone.
 *
 * Never retried: other methods (a tRPC mutation is a POST that may already have been applied),
 * refused connections, timeouts and aborts, HTTP answers of any status, and calls whose signal is
 * aborted.
 */
export function retryOnReset(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      const retry =
        idempotentMethods.has(methodOf(input, init)) &&
        !callerAborted(input, init) &&
        isConnectionReset(error);
      if (!retry) throw error;
      // Without a body (GET, HEAD) the same input can be sent again as it is.
      return fetchImpl(input, init);
    }
  };
}
