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
