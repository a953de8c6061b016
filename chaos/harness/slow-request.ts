import { request } from "node:http";
import { type HttpAnswer, readAnswer } from "./http-client.js";

export interface SlowRequest {
  /** Sends the rest of the body and resolves with the answer. */
  finish(): Promise<HttpAnswer>;
}

/**
 * Starts a POST whose body arrives in two parts: the headers and the first half now (resolved
 * once they are on the wire), the rest on `finish()`. Meanwhile the server holds an unfinished
 * request: what "in flight" means to a graceful shutdown.
 */
export async function startSlowRequest(options: {
  url: string;
  headers: Record<string, string>;
  body: string;
}): Promise<SlowRequest> {
  const body = Buffer.from(options.body);
  const half = Math.floor(body.length / 2);
  const req = request(options.url, {
    method: "POST",
    headers: { ...options.headers, "content-length": String(body.length) },
    agent: false,
  });
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req.on("error", reject);
    req.on("response", (res) => readAnswer(res).then(resolve, reject));
  });
  // Surfaced by finish(); until then an early failure must not be an unhandled rejection.
  answer.catch(() => {});
  await new Promise<void>((resolve, reject) =>
    req.write(body.subarray(0, half), (error) => (error ? reject(error) : resolve())),
  );
  return {
    finish() {
      req.end(body.subarray(half));
      return answer;
    },
  };
}
