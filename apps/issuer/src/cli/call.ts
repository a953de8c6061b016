// `pnpm -s call <procedure> [json-input] [--mutation]`: calls one procedure of the running API with
// a DPoP-bound token of `dev-dpop` (a fresh proof, the API's nonce answered) and prints its result
// as JSON. `--bearer` calls with a Bearer token of `dev-writer` instead.
import { parseArgs } from "node:util";
import { requestToken, TokenRequestError } from "../token-request.js";
import { parseOrExit } from "./args.js";
import { devIssuer, START_ISSUER, unreachable } from "./dev-issuer.js";
import { dpopCaller } from "./dpop-caller.js";

const usage =
  "pnpm -s call <procedure> [json-input] [--mutation] [--client dev-dpop] [--bearer]\n" +
  '  e.g. pnpm -s call whoami; pnpm -s call items.create \'{"name":"pen"}\' --mutation';
const {
  values: args,
  input,
  procedure,
} = parseOrExit(usage, (argv) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mutation: { type: "boolean", default: false },
      bearer: { type: "boolean", default: false },
      client: { type: "string" },
    },
  });
  const [name, json, ...rest] = positionals;
  if (!name || rest.length > 0) throw new Error("one procedure and at most one JSON input");
  let parsed: unknown;
  try {
    parsed = json === undefined ? undefined : JSON.parse(json);
  } catch {
    throw new Error(`the input is not JSON: ${json}`);
  }
  return { values, procedure: name, input: parsed };
});

/** The call as tRPC's HTTP link sends it: a query is a GET, a mutation a POST of its input. */
function tRPCRequest(apiUrl: string) {
  const url = new URL(`${apiUrl.replace(/\/$/, "")}/${procedure}`);
  if (args.mutation) {
    return { method: "POST", url, body: JSON.stringify(input ?? null) };
  }
  if (input !== undefined) url.searchParams.set("input", JSON.stringify(input));
  return { method: "GET", url, body: undefined };
}

try {
  const { issuer, tokenEndpoint, tenant, ca, apiUrl } = await devIssuer();
  const { method, url, body } = tRPCRequest(apiUrl);
  let send: () => Promise<Response>;
  try {
    if (args.bearer) {
      const clientId = args.client ?? "dev-writer";
      const { access_token } = await requestToken(tokenEndpoint, tenant, { clientId }, ca);
      const headers: Record<string, string> = { authorization: `Bearer ${access_token}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      send = () => fetch(url, { method, body, headers });
    } else {
      const caller = await dpopCaller(tokenEndpoint, tenant, {
        clientId: args.client ?? "dev-dpop",
      });
      send = () => caller.send(method, url, body);
    }
  } catch (error) {
    if (error instanceof TokenRequestError) throw error;
    throw unreachable(error, "issuer", issuer, START_ISSUER);
  }
  const response = await send().catch((error: unknown) => {
    throw unreachable(error, "API", url.origin, "start the stack with `pnpm dev` (or set API_URL)");
  });
  const text = await response.text();
  let json: { result?: { data?: unknown }; error?: { message?: string } } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok && json?.result) {
    process.stdout.write(`${JSON.stringify(json.result.data ?? null, null, 2)}\n`);
  } else {
    const challenge = response.headers.get("www-authenticate");
    const reason = json?.error?.message ?? (text.trim() || response.statusText);
    console.error(`call: ${method} ${url.pathname} answered ${response.status}: ${reason}`);
    if (challenge) console.error(`call: WWW-Authenticate: ${challenge}`);
    if (response.status === 405 && !args.mutation) {
      console.error("call: is it a mutation? add --mutation");
    }
    process.exit(1);
  }
} catch (error) {
  console.error(`call: ${(error as Error).message}`);
  process.exit(1);
}
