import { z } from "zod";

/** What an error body's `data.input` says about an input that failed validation. */
export interface InputErrorDetails {
  /** Problems with the input as a whole (not an object, say). */
  formErrors: string[];
  /** Problems with each field, by field name. */
  fieldErrors: Record<string, string[]>;
}

/**
 * A procedure input's validation failure as a sentence and as fields, or `undefined` for any
 * other error. tRPC's own message for it is zod's issue list serialised as JSON.
 *
 * @example
 * inputErrors(zodError)?.message; // "Invalid input: name must not be empty"
 */
export function inputErrors(
  cause: unknown,
): { message: string; details: InputErrorDetails } | undefined {
  if (!(cause instanceof z.ZodError)) return undefined;
  const problems = cause.issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")} ${issue.message}`,
  );
  const { formErrors, fieldErrors } = z.flattenError(cause);
  return {
    message: `Invalid input: ${problems.join("; ")}`,
    details: { formErrors, fieldErrors: fieldErrors as Record<string, string[]> },
  };
}
