"use client";

import { useActionState } from "react";
import { createItem } from "./actions";
import { type CreateItemState, initialCreateItemState } from "./create-item-state";

function Outcome({ state }: { state: CreateItemState }) {
  switch (state.status) {
    case "idle":
      return null;
    case "created":
      return (
        <p className="message ok" role="status" data-testid="create-result">
          Created “{state.item.name}”.
        </p>
      );
    case "forbidden":
      return (
        <p className="message warn" role="alert" data-testid="create-result">
          The API refused (403 insufficient_scope): creating items needs{" "}
          <code>{state.requiredScope}</code>, and this app’s token grants{" "}
          {state.heldScopes.length > 0 ? <code>{state.heldScopes.join(" ")}</code> : "no scopes"}.
        </p>
      );
    case "invalid":
      return (
        <p className="message warn" role="alert" data-testid="create-result">
          {state.message}
        </p>
      );
    case "failed":
      return (
        <p className="message bad" role="alert" data-testid="create-result">
          {state.title}. {state.summary}
        </p>
      );
  }
}

export function CreateItemForm({
  allowed,
  requiredScope,
}: {
  allowed: boolean;
  requiredScope: string;
}) {
  const [state, action, pending] = useActionState(createItem, initialCreateItemState);
  const draft = state.status === "invalid" ? state.name : "";
  return (
    <form action={action} className="form" aria-describedby="create-item-note">
      <label htmlFor="item-name">New item</label>
      <div className="form-row">
        <input
          id="item-name"
          name="name"
          key={state.status === "created" ? state.item.id : "draft"}
          defaultValue={draft}
          placeholder="e.g. Rotate signing keys"
          autoComplete="off"
          required
        />
        <button className="button" type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create item"}
        </button>
      </div>
      <p className="form-note" id="create-item-note">
        Needs <code>{requiredScope}</code>
        {allowed
          ? " — this app holds it."
          : " — this app does not hold it, so the API will answer 403."}
      </p>
      <Outcome state={state} />
    </form>
  );
}
