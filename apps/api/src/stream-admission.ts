/** Counts open streams per client and refuses those beyond the cap. */
export interface StreamAdmission {
  /**
   * Admits one more stream of `client`: returns the function that releases its place (idempotent),
   * or `undefined` when the client already holds `maxPerClient` streams.
   */
  admit(client: string): (() => void) | undefined;
  /** Open streams, all clients together. */
  open(): number;
  /** Streams refused so far. */
  refused(): number;
}

/**
 * One client (a token's `azp`, `client_id` or else `sub`) may hold at most `maxPerClient` streams
 * at once on this instance, so one caller cannot take every connection the server has.
 *
 * @example
 * const release = admission.admit(clientId);
 * if (release === undefined) return answer429();
 * res.once("close", release);
 */
export function createStreamAdmission(maxPerClient: number): StreamAdmission {
  const byClient = new Map<string, number>();
  let open = 0;
  let refused = 0;
  return {
    admit(client) {
      const held = byClient.get(client) ?? 0;
      if (held >= maxPerClient) {
        refused += 1;
        return undefined;
      }
      byClient.set(client, held + 1);
      open += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open -= 1;
        const left = (byClient.get(client) ?? 1) - 1;
        if (left === 0) byClient.delete(client);
        else byClient.set(client, left);
      };
    },
    open: () => open,
    refused: () => refused,
  };
}
