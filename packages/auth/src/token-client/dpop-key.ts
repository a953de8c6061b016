import * as oauth from "oauth4webapi";

/**
 * The `dpop` option: `true` generates a key for this client (ES256, private part not extractable);
 * `{ keyPair }` uses yours, so that processes sharing a store share tokens.
 */
export type DPoPOption = boolean | { readonly keyPair: oauth.CryptoKeyPair };

/** A client's DPoP key as its requests use it. */
export interface DPoPKey {
  /** oauth4webapi's proof signer, which also remembers each server's last nonce (per origin). */
  readonly handle: oauth.DPoPHandle;
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  readonly thumbprint: string;
}

/** What a client counts about its proofs, for `stats()`. */
export interface DPoPCounts {
  /** Requests sent with a DPoP proof: token requests and resource requests. */
  proofs: number;
  /** Requests sent again because a server answered `use_dpop_nonce` with a new nonce. */
  nonceRetries: number;
}

/** The client's DPoP key, made or checked once, with its counters. */
export interface DPoPSigner {
  key(): Promise<DPoPKey>;
  readonly counts: DPoPCounts;
}

/**
 * The signer for the `dpop` option, or `undefined` when DPoP is off. A key pair passed in is
 * checked now (a `TypeError` says what is wrong); a generated one is made on first use, because
 * WebCrypto generates keys asynchronously and creating a client is synchronous.
 */
export function createDPoPSigner(option: DPoPOption | undefined): DPoPSigner | undefined {
  if (option === undefined || option === false) return undefined;
  const given = option === true ? undefined : handleFor(option?.keyPair);
  let key: Promise<DPoPKey> | undefined;
  return {
    key() {
      key ??= bind(given ?? generateKeyPair().then((keyPair) => oauth.DPoP({}, keyPair)));
      return key;
    },
    counts: { proofs: 0, nonceRetries: 0 },
  };
}

async function generateKeyPair(): Promise<oauth.CryptoKeyPair> {
  // The private key never leaves WebCrypto; the public key is extractable by definition, and the
  // proofs carry it.
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
}

async function bind(handle: oauth.DPoPHandle | Promise<oauth.DPoPHandle>): Promise<DPoPKey> {
  const ready = await handle;
  return { handle: ready, thumbprint: await ready.calculateThumbprint() };
}

/** The handle for a key pair passed in; oauth4webapi checks the keys (types, extractable). */
function handleFor(keyPair: oauth.CryptoKeyPair | undefined): oauth.DPoPHandle {
  let handle: oauth.DPoPHandle;
  try {
    handle = oauth.DPoP({}, keyPair as oauth.CryptoKeyPair);
  } catch (err) {
    const reason = err instanceof Error ? err.message : "not a key pair";
    throw new TypeError(`dpop.keyPair is not usable: ${reason}`);
  }
  if (!keyPair?.privateKey.usages.includes("sign")) {
    throw new TypeError('dpop.keyPair is not usable: its private key does not allow "sign"');
  }
  return handle;
}
