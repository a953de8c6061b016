import { importPKCS8 } from "jose";
import * as oauth from "oauth4webapi";
import type { ClientAuthMethod } from "./types.js";

export interface ClientAuthOptions {
  authMethod?: ClientAuthMethod | undefined;
  clientSecret?: string | undefined;
  /** For `private_key_jwt`: a signing `CryptoKey` or a PKCS#8 PEM string. */
  privateKey?: oauth.CryptoKey | string | undefined;
  /** Algorithm of a PEM `privateKey`. Default `RS256`. */
  privateKeyAlg?: string | undefined;
  /** `kid` header of the client assertion. */
  kid?: string | undefined;
}

/** The oauth4webapi client authentication for the configured method; checks what it needs. */
export function createClientAuth(options: ClientAuthOptions): {
  method: ClientAuthMethod;
  clientAuth: oauth.ClientAuth;
} {
  const method =
    options.authMethod ?? (options.privateKey ? "private_key_jwt" : "client_secret_post");
  switch (method) {
    case "client_secret_post":
    case "client_secret_basic": {
      if (typeof options.clientSecret !== "string" || options.clientSecret.length === 0) {
        throw new TypeError(`clientSecret is required for ${method}`);
      }
      const clientAuth =
        method === "client_secret_post"
          ? oauth.ClientSecretPost(options.clientSecret)
          : oauth.ClientSecretBasic(options.clientSecret);
      return { method, clientAuth };
    }
    case "private_key_jwt": {
      const { privateKey } = options;
      if (privateKey === undefined)
        throw new TypeError("privateKey is required for private_key_jwt");
      // The PEM is imported on first use so that creating a client stays synchronous.
      let signer: Promise<oauth.ClientAuth> | undefined;
      const load = async () => {
        const key =
          typeof privateKey === "string"
            ? await importPKCS8(privateKey, options.privateKeyAlg ?? "RS256")
            : privateKey;
        return oauth.PrivateKeyJwt(options.kid === undefined ? key : { key, kid: options.kid });
      };
      const clientAuth: oauth.ClientAuth = async (as, client, body, headers) => {
        signer ??= load();
        const sign = await signer;
        await sign(as, client, body, headers);
      };
      return { method, clientAuth };
    }
    default:
      throw new TypeError(`unsupported authMethod ${String(method)}`);
  }
}
