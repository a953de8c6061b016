import { Fragment } from "react";

/** Renders `backticked` spans of a plain sentence as code; everything else stays text. */
export function RichText({ text }: { text: string }) {
  // Index keys are stable here: the parts of one fixed string never reorder.
  return (
    <>
      {text
        .split("`")
        .map((part, index) =>
          index % 2 === 1 ? (
            <code key={index}>{part}</code>
          ) : (
            <Fragment key={index}>{part}</Fragment>
          ),
        )}
    </>
  );
}
