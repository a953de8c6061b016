// `pnpm get-token [--client dev-writer] [--audience …] [--scope …]`: prints a fresh access token from
// the running dev issuer, and nothing else on stdout, so that it fits in a curl command.
// `--dpop [--url …] [--method GET]` prints a whole curl command instead: a DPoP-bound token and a
// proof for that one request.
import { parseArgs } from "node:util";
import { requestToken, TokenRequestError } from "../token-request.js";
import { parseOrExit } from "./args.js";
import { devIssuer, START_ISSUER, unreachable } from "./dev-issuer.js";
import { dpopCaller } from "./dpop-caller.js";

const args = parseOrExit(
  "pnpm get-token [--client dev-writer] [--audience https://api.example.local] [--scope read:items]\n" +
    "       pnpm get-token --dpop [--client dev-dpop] [--url http://127.0.0.1:4000/trpc/whoami] [--method GET]",
  (argv) =>
    parseArgs({
      args: argv,
      options: {
        client: { type: "string" },
        audience: { type: "string" },
        scope: { type: "string" },
        dpop: { type: "boolean", default: false },
        url: { type: "string" },
        method: { type: "string", default: "GET" },
      },
    }).values,
);

/** `value` in single quotes for a POSIX shell. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

try {
  const { issuer, tokenEndpoint, tenant, ca, apiUrl } = await devIssuer();
  const request = {
    clientId: args.client ?? (args.dpop ? "dev-dpop" : "dev-writer"),
    ...(args.audience ? { audience: args.audience } : {}),
    ...(args.scope ? { scope: args.scope } : {}),
  };
  try {
    if (args.dpop) {
      const url = new URL(args.url ?? `${apiUrl.replace(/\/$/, "")}/whoami`);
      const method = args.method.toUpperCase();
      const caller = await dpopCaller(tokenEndpoint, tenant, request);
      const proof = await caller.proof(method, url);
      const parts = ["curl", ...(method === "GET" ? [] : ["-X", method])];
      parts.push("-H", quote(`Authorization: DPoP ${caller.accessToken}`));
      parts.push("-H", quote(`DPoP: ${proof}`), quote(url.href));
      process.stdout.write(`${parts.join(" ")}\n`);
      console.error("token: the proof is good for this one request, within a minute");
    } else {
      const token = await requestToken(tokenEndpoint, tenant, request, ca);
      process.stdout.write(`${token.access_token}\n`);
    }
  } catch (error) {
    if (error instanceof TokenRequestError) throw error;
    throw unreachable(error, "issuer", issuer, START_ISSUER);
  }
} catch (error) {
  console.error(`token: ${(error as Error).message}`);
  process.exit(1);
}
