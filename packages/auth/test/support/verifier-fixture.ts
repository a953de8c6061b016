import {
  claimsFor,
  type JwksServer,
  signToken,
  startJwksServer,
  type TestKey,
  type TokenParts,
} from "@repo/test-utils";
import { createAccessTokenVerifier } from "../../src/verifier/create-access-token-verifier.js";
import type {
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  VerifierEvent,
} from "../../src/verifier/types.js";

export const AUDIENCE = "https://api.example.local";

/** A controllable clock in epoch milliseconds. */
export interface TestClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
  seconds(): number;
}

export function createClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
    seconds: () => Math.floor(current / 1000),
  };
}

export interface VerifierFixture {
  server: JwksServer;
  clock: TestClock;
  events: VerifierEvent[];
  verifier: AccessTokenVerifier;
  /** Builds another verifier against the same server and clock (closed by `close`). */
  build(options?: Partial<AccessTokenVerifierOptions>): AccessTokenVerifier;
  /** A valid token for this issuer and audience, signed by `key`; `parts` override header/claims. */
  token(key: TestKey, parts?: TokenParts): string;
  close(): Promise<void>;
}

/** A JWKS server publishing `keys`, a clock, and a verifier using discovery against that server. */
export async function createVerifierFixture(
  keys: readonly TestKey[],
  options: Partial<AccessTokenVerifierOptions> = {},
): Promise<VerifierFixture> {
  const server = await startJwksServer(keys.map((key) => key.publicJwk));
  const clock = createClock();
  const events: VerifierEvent[] = [];
  const verifiers: AccessTokenVerifier[] = [];
  const build = (extra: Partial<AccessTokenVerifierOptions> = {}): AccessTokenVerifier => {
    const verifier = createAccessTokenVerifier({
      issuerBaseURL: server.issuer,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      now: clock.now,
      onEvent: (event) => events.push(event),
      ...options,
      ...extra,
    });
    verifiers.push(verifier);
    return verifier;
  };
  const verifier = build();
  return {
    server,
    clock,
    events,
    verifier,
    build,
    token: (key, parts = {}) =>
      signToken(key, {
        header: parts.header,
        payload: { ...claimsFor(server.issuer, AUDIENCE, clock.seconds()), ...parts.payload },
      }),
    async close() {
      for (const each of verifiers) each.close();
      await server.close();
    },
  };
}
