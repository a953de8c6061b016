/** What the create-item form shows after a submission; plain data, sent to the browser. */
export type CreateItemState =
  | { readonly status: "idle" }
  | { readonly status: "created"; readonly item: { readonly id: string; readonly name: string } }
  | {
      readonly status: "forbidden";
      readonly requiredScope: string;
      readonly heldScopes: readonly string[];
    }
  | { readonly status: "invalid"; readonly message: string; readonly name: string }
  | { readonly status: "failed"; readonly title: string; readonly summary: string };

export const initialCreateItemState: CreateItemState = { status: "idle" };
