/** The text inside the element carrying `data-testid="<id>"` (tags and React's `<!-- -->` removed). */
export function testIdText(html: string, id: string): string | undefined {
  const start = html.indexOf(`data-testid="${id}"`);
  if (start === -1) return undefined;
  const open = html.indexOf(">", start);
  const tag = /<([a-z0-9]+)/i.exec(html.slice(html.lastIndexOf("<", start)))?.[1] ?? "";
  const close = html.indexOf(`</${tag}>`, open);
  return html
    .slice(open + 1, close === -1 ? undefined : close)
    .replace(/<!-- -->/g, "")
    .replace(/<[^>]+>/g, "")
    .trim();
}

/** The `data-kind` of the outage explanation (`data-testid="problem"`), if the page shows one. */
export function problemKind(html: string): string | undefined {
  return /data-testid="problem"[^>]*data-kind="([^"]+)"/.exec(html)?.[1];
}

/**
 * What a person saw on the home page: `"200 page"` (the app with its data), `"<status>
 * problem:<kind>"` (the outage explanation), or `"<status> incomplete"` (anything else).
 */
export function classifyHomePage({ status, html }: { status: number; html: string }): string {
  const problem = problemKind(html);
  if (problem) return `${status} problem:${problem}`;
  return html.includes('data-testid="whoami"') ? `${status} page` : `${status} incomplete`;
}

const ENTITIES: Record<string, string> = {
  "&quot;": '"',
  "&#x27;": "'",
  "&#39;": "'",
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
};

/** What `/status` shows of the process's token client and token; the token itself is never on it. */
export interface StatusView {
  /** The store badge: `Redis store`, `memory store`, or Redis with the degraded note. */
  store: string | undefined;
  /** Token requests this process has sent, as its own counter says. */
  tokenRequests: number | undefined;
  /** The token's decoded header fields (`alg`, `typ`, `kid`). */
  header: Record<string, unknown> | undefined;
  /** The token's decoded claims (`jti`, `iat`, `exp`, …). */
  claims: Record<string, unknown> | undefined;
  /** The recent token-client events it lists (`token_request`, `store_degraded`, …), oldest first. */
  events: string[];
}

/** Reads the status page's store badge, token-request counter, decoded token and token events. */
export function readStatusPage(html: string): StatusView {
  const decoded = testIdText(html, "token-claims")?.replace(
    /&(?:quot|#x27|#39|lt|gt|amp);/g,
    (entity) => ENTITIES[entity] ?? entity,
  );
  const token = decoded === undefined ? undefined : (JSON.parse(decoded) as Partial<StatusView>);
  const requests = testIdText(html, "token-requests");
  return {
    store: testIdText(html, "store-kind"),
    tokenRequests: requests === undefined ? undefined : Number(requests),
    header: token?.header,
    claims: token?.claims,
    events: [...html.matchAll(/<span class="mono">(\w+)<\/span><span class="meta">/g)].map(
      (match) => match[1] ?? "",
    ),
  };
}

/**
 * What a person saw on `/status`: `"200 status"` (the token and the API's health), `"<status>
 * problem:<kind>"`, or `"<status> incomplete"` (a token or health card without its data).
 */
export function classifyStatusPage({ status, html }: { status: number; html: string }): string {
  const problem = problemKind(html);
  if (problem) return `${status} problem:${problem}`;
  const complete =
    html.includes('data-testid="token-claims"') && html.includes('data-testid="jwks-state"');
  return complete ? `${status} status` : `${status} incomplete`;
}
