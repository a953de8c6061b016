import { routes } from "./auth0-provider.js";
import { DEFAULT_ISSUER_PORT } from "./env.js";
import type { Tenant } from "./tenant.js";

export interface HomePageOptions {
  /** The issuer URL, with its trailing slash. */
  issuer: string;
  tenant: Tenant;
  /**
   * Whether the tenant is the development tenant (`tenant.dev.json`), whose secrets are published
   * on purpose: the page then says where to find them. Secrets themselves are never on the page.
   */
  devTenant: boolean;
}

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => escapes[char] ?? char);
}

function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

function link(url: string): string {
  return `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (row: readonly string[], tag: "th" | "td") =>
    `<tr>${row.map((cell) => `<${tag}>${cell}</${tag}>`).join("")}</tr>`;
  return `<table><thead>${cells(head, "th")}</thead><tbody>${rows.map((row) => cells(row, "td")).join("")}</tbody></table>`;
}

const style = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d2430; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d8dde6; vertical-align: top; }
code { background: #eef1f5; padding: 0 .25rem; border-radius: 3px; } pre { background: #eef1f5; padding: .6rem; overflow-x: auto; }
.note { color: #5a6475; }`;

/**
 * The page at the issuer's root: what this server is, its endpoints, and the APIs and clients of
 * its tenant with their grants, so that a developer who opens the URL from the dev banner sees
 * what to call. Every tenant value is escaped; no client secret is ever written.
 */
export function renderHomePage({ issuer, tenant, devTenant }: HomePageOptions): string {
  const url = (path: string) => new URL(path, issuer).href;
  const endpoints = table(
    ["endpoint", "URL"],
    [
      ["discovery", link(url(".well-known/openid-configuration"))],
      ["discovery (OAuth 2.0)", link(url(".well-known/oauth-authorization-server"))],
      ["signing keys (JWKS)", link(url(routes.jwks))],
      ["token (client credentials only, POST)", code(url(routes.token))],
    ],
  );
  const apis = table(
    ["API (audience)", "scopes", "token lifetime"],
    tenant.apis.map((api) => [
      code(api.identifier) + (api.name ? ` ${escapeHtml(api.name)}` : ""),
      api.scopes.map(code).join(" ") || '<span class="note">none</span>',
      `${api.tokenLifetime} s`,
    ]),
  );
  const clients = table(
    ["client id", "granted"],
    tenant.clients.map((client) => [
      code(client.clientId) + (client.name ? ` ${escapeHtml(client.name)}` : ""),
      client.grants
        .map(
          (grant) => `${code(grant.audience)}: ${grant.scopes.map(code).join(" ") || "no scope"}`,
        )
        .join("<br>") || '<span class="note">nothing</span>',
    ]),
  );
  const secrets = devTenant
    ? `Their secrets are in ${code("apps/issuer/tenant.dev.json")}: development-only credentials, published on purpose.`
    : "This tenant is not the development tenant: its secrets are not shown.";
  const example = tenant.clients[0]?.clientId ?? "CLIENT_ID";
  const { port, protocol } = new URL(issuer);
  // The token command finds the issuer and the tenant as the dev issuer's own defaults do.
  const settings = [
    ...(port === String(DEFAULT_ISSUER_PORT) ? [] : [`ISSUER_PORT=${port}`]),
    ...(protocol === "https:" ? ["ISSUER_HTTPS=1"] : []),
    ...(devTenant ? [] : ["ISSUER_TENANT=path/to/tenant.json"]),
  ];
  const tokenCommand = [...settings, "pnpm get-token --client", example].join(" ");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Development authorization server</title>
<style>${style}</style>
</head>
<body>
<h1>Development authorization server</h1>
<p>Issuer ${code(issuer)}: an Auth0-compatible OAuth 2.0 server for the client-credentials grant,
for development and tests only.</p>
<h2>Endpoints</h2>
${endpoints}
<h2>APIs</h2>
${apis}
<h2>Clients</h2>
${clients}
<p class="note">${secrets}</p>
<h2>Get a token</h2>
<pre>${escapeHtml(tokenCommand)}</pre>
<p class="note">Add ${code("--audience")} for another API and ${code("--scope")} for fewer scopes.</p>
</body>
</html>
`;
}
