import "server-only";
import {
  type AccessTokenVerifier,
  buildAuthErrorHeaders,
  createAccessTokenVerifier,
  isAuthError,
  requireScopes,
} from "@repo/auth";
import { z } from "zod";
import { getWebhookEnv, WebEnvError, type WebhookEnv } from "./env";
import { processSingleton } from "./process-singleton";

const REALM = "webhook";
const MAX_BODY_BYTES = 16 * 1024;

const eventSchema = z.object({ type: z.string().min(1).max(100) });

/** One verifier per server instance (per isolate on the edge), with its key cache. */
function webhookVerifier(env: WebhookEnv): AccessTokenVerifier {
  return processSingleton("webhook-verifier", () =>
    createAccessTokenVerifier({
      issuerBaseURL: env.ISSUER_BASE_URL,
      audience: env.WEBHOOK_AUDIENCE,
    }),
  );
}

const answer = (status: number, body: unknown, headers?: Record<string, string>) =>
  Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });

async function readEvent(request: Request): Promise<z.infer<typeof eventSchema> | undefined> {
  if (Number(request.headers.get("content-length")) > MAX_BODY_BYTES) return undefined;
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return undefined;
  try {
    const parsed = eventSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `POST /api/webhook`: accepts an event (`{ "type": "…" }`) from a caller holding an access token
 * for `WEBHOOK_AUDIENCE` with `WEBHOOK_SCOPE`. Auth failures answer as RFC 6750 says: 400, 401
 * (with a `Bearer realm="webhook"` challenge), 403 `insufficient_scope`, or 503 with `Retry-After`
 * while the issuer's keys cannot be had. The token is checked before the body is read.
 */
export async function handleWebhook(request: Request): Promise<Response> {
  let env: WebhookEnv;
  try {
    env = getWebhookEnv();
  } catch (error) {
    if (!(error instanceof WebEnvError)) throw error;
    console.error(
      JSON.stringify({ level: "error", msg: "webhook misconfigured", problems: error.problems }),
    );
    return answer(500, {
      error: "server_error",
      error_description: "The webhook is not configured",
    });
  }
  try {
    const claims = await webhookVerifier(env).authenticate(request.headers.get("authorization"));
    requireScopes(claims, [env.WEBHOOK_SCOPE]);
    const event = await readEvent(request);
    if (event === undefined) {
      return answer(400, {
        error: "invalid_event",
        error_description: 'Send a JSON object with a "type"',
      });
    }
    return answer(200, { received: event.type, from: claims.sub });
  } catch (error) {
    if (!isAuthError(error)) throw error;
    return answer(
      error.status,
      { error: error.oauthError ?? "unauthorized", error_description: error.message },
      buildAuthErrorHeaders(error, { realm: REALM }),
    );
  }
}
