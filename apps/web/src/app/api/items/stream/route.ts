import { relayItemChanges } from "~/server/item-relay";

// A long-lived stream: never cached or prerendered, and on Node (the token client lives there).
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request): Response {
  return relayItemChanges(request);
}
