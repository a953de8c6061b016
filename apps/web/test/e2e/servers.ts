import { type ApiServer, parseEnv, startApiServer } from "@repo/api";

/** The audience of the development tenant's API, which every test server agrees on. */
export const audience = "https://api.example.local";

/**
 * Starts the real API in this process on 127.0.0.1, silent, with `env` naming where its keys come
 * from (`ISSUER_BASE_URL`, or `JWKS_URI` and `ISSUER`) and any other setting. Port 0 picks one.
 */
export function startTestApi(env: Record<string, string>, port = 0): Promise<ApiServer> {
  const parsed = parseEnv({
    AUDIENCE: audience,
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "silent",
    DATA_DIR: "memory://",
    ...env,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  return startApiServer(parsed.config);
}
