import { IncomingMessage } from "node:http";

/** The same limit oidc-provider applies to form bodies. */
const BODY_LIMIT = 56 * 1024;

/** A body that cannot be turned into token request parameters: answered 400 `invalid_request`. */
export class InvalidRequestBody extends Error {
  override name = "InvalidRequestBody";
}

export const UNSUPPORTED_BODY =
  "only application/x-www-form-urlencoded and application/json bodies are supported";

function mediaType(req: IncomingMessage): string | undefined {
  return req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
}

export function isJsonRequest(req: IncomingMessage): boolean {
  return mediaType(req) === "application/json";
}

export function isFormOrEmpty(req: IncomingMessage): boolean {
  const type = mediaType(req);
  return type === undefined || type === "application/x-www-form-urlencoded";
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > BODY_LIMIT) throw new InvalidRequestBody("request body too large");
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req) {
    received += (chunk as Buffer).length;
    if (received > BODY_LIMIT) throw new InvalidRequestBody("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, received);
}

function toForm(json: unknown): URLSearchParams {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InvalidRequestBody("the JSON body must be an object");
  }
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(json)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item !== "string") {
        throw new InvalidRequestBody(`the "${name}" parameter must be a string`);
      }
      form.append(name, item);
    }
  }
  return form;
}

/**
 * Auth0's token endpoint takes JSON bodies as well as forms; oidc-provider reads forms only. The
 * JSON object is re-encoded as the equivalent form in a fresh request that the provider then
 * reads like any other, so every parameter goes through the same checks either way.
 */
export async function jsonToFormRequest(req: IncomingMessage): Promise<IncomingMessage> {
  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (cause) {
    if (cause instanceof InvalidRequestBody) throw cause;
    // The client went away mid-body: there is no one left to answer.
    throw new InvalidRequestBody("the request body was cut short", { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (cause) {
    throw new InvalidRequestBody("failed to parse the request body", { cause });
  }
  const body = Buffer.from(toForm(json).toString());

  const forwarded = new IncomingMessage(req.socket);
  forwarded.method = req.method;
  forwarded.url = req.url;
  forwarded.httpVersion = req.httpVersion;
  forwarded.httpVersionMajor = req.httpVersionMajor;
  forwarded.httpVersionMinor = req.httpVersionMinor;
  const { "transfer-encoding": _chunked, ...headers } = req.headers;
  forwarded.headers = {
    ...headers,
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(body.length),
  };
  // Marked complete so that ending it does not count as an aborted request (which would close
  // the client's connection).
  forwarded.complete = true;
  forwarded.push(body);
  forwarded.push(null);
  return forwarded;
}
