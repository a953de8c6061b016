import { z } from "zod";

const port = z.coerce
  .number({ error: "must be a port number" })
  .int("must be a whole port number")
  .min(0, "must be between 0 and 65535")
  .max(65_535, "must be between 0 and 65535");

/** The port of the development issuer (`ISSUER_PORT` overrides it). */
export const DEFAULT_ISSUER_PORT = 4400;

/** `1`/`true` or `0`/`false`, default off. */
const onOff = z
  .enum(["0", "1", "true", "false"], { error: "must be 1 or 0" })
  .transform((value) => value === "1" || value === "true")
  .default(false);

const envSchema = z.object({
  /** Port of the issuer; its URL is http://127.0.0.1:ISSUER_PORT/. */
  ISSUER_PORT: port.default(DEFAULT_ISSUER_PORT),
  /** Address to listen on; `0.0.0.0` in a container, so that other containers reach it. */
  ISSUER_HOST: z.string().min(1).default("127.0.0.1"),
  /**
   * The URL clients reach the issuer at, when it is not http://ISSUER_HOST:ISSUER_PORT/ (in a
   * container network, say): the `iss` of its tokens.
   */
  ISSUER_PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Path of a tenant file to serve instead of tenant.dev.json. */
  ISSUER_TENANT: z.string().min(1).optional(),
  /** Folder of the signing keys instead of apps/issuer/.keys/. */
  ISSUER_KEYS_DIR: z.string().min(1).optional(),
  /** `1` serves https:// with a self-signed certificate (kept in the keys folder). */
  ISSUER_HTTPS: onOff,
  /** `1`: every DPoP proof must carry a server nonce (RFC 9449 §8). */
  ISSUER_DPOP_NONCE: onOff,
  /** For `pnpm call` and `token --dpop`: the API's tRPC endpoint (as the web app's `API_URL`). */
  API_URL: z.url().optional(),
});

export type IssuerEnv = z.infer<typeof envSchema>;

/** Validates the issuer's environment; on failure names every bad variable in one message. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): IssuerEnv {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".")} ${issue.message} (got "${present[String(issue.path[0])]}")`,
  );
  throw new Error(`invalid environment: ${problems.join("; ")}`);
}
