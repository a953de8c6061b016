"use server";

import { randomUUID } from "node:crypto";
import { refresh } from "next/cache";
import { requiredScopes, scopeList } from "../lib/scopes";
import { getApiClient } from "../server/api-client";
import { describeProblem } from "../server/describe-problem";
import { logFailure, problemContext } from "../server/home-data";
import { getTokenClient } from "../server/token-client";
import type { CreateItemState } from "./create-item-state";

const maxNameLength = 100;

function statusOf(error: unknown): number | undefined {
  const status = (error as { data?: { httpStatus?: unknown } } | undefined)?.data?.httpStatus;
  return typeof status === "number" ? status : undefined;
}

async function heldScopes(): Promise<string[]> {
  try {
    return scopeList((await getTokenClient().getTokenSet()).scope);
  } catch {
    return [];
  }
}

/**
 * Creates an item through the API as this app. Public like every server action, so it accepts
 * nothing but the name and leaves validation to the API, which owns the rule.
 */
export async function createItem(
  _previous: CreateItemState,
  form: FormData,
): Promise<CreateItemState> {
  const raw = form.get("name");
  const name = typeof raw === "string" ? raw : "";
  try {
    // One key per submission: however often this request is sent (a retry with a new token after
    // a 401), the API creates one item.
    const item = await getApiClient().items.create.mutate(
      { name },
      { context: { idempotencyKey: randomUUID() } },
    );
    refresh();
    return { status: "created", item: { id: item.id, name: item.name } };
  } catch (error) {
    const status = statusOf(error);
    if (status === 403) {
      return {
        status: "forbidden",
        requiredScope: requiredScopes.createItem,
        heldScopes: await heldScopes(),
      };
    }
    if (status === 400) {
      return {
        status: "invalid",
        message:
          name.trim().length === 0
            ? "The API rejected the item: a name is required."
            : `The API rejected the item: a name is 1 to ${maxNameLength} characters (this one has ${name.length}).`,
        name,
      };
    }
    const problem = describeProblem(error, problemContext());
    logFailure("createItem", problem, error);
    return { status: "failed", title: problem.title, summary: problem.summary };
  }
}
