import { AUTH_PACKAGE } from "@repo/auth";
import { expect, test } from "vitest";

test("resolves the workspace from source", () => {
  expect(AUTH_PACKAGE).toBe("@repo/auth");
});
