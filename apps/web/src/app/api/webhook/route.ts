import { handleWebhook } from "~/server/webhook";

// Verified on the edge: @repo/auth resolves its WebCrypto build here ("edge-light" condition).
export const runtime = "edge";

export const POST = handleWebhook;
