import type { AuthenticatedClaims, DpopBinding } from "@repo/auth";
import { describe, expectTypeOf, it } from "vitest";
import { protectedProcedure, publicProcedure, requireDpop, requireScopes } from "./trpc.js";

// These assertions are checked by the compiler (`pnpm typecheck`): a handler that could run
// without verified claims, or a public handler that could see claims, fails the build.
describe("procedure context types", () => {
  it("gives protected handlers non-null verified claims", () => {
    protectedProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.auth).toEqualTypeOf<AuthenticatedClaims>();
      expectTypeOf(ctx.auth).not.toBeNullable();
      expectTypeOf(ctx.auth.sub).toBeString();
      return null;
    });
  });

  it("keeps claims away from public handlers", () => {
    publicProcedure.query(({ ctx }) => {
      expectTypeOf(ctx).not.toHaveProperty("auth");
      return null;
    });
  });

  it("keeps claims non-null behind requireScopes and accepts only the API's scope names", () => {
    requireScopes("read:items", "write:items").query(({ ctx }) => {
      expectTypeOf(ctx.auth).toEqualTypeOf<AuthenticatedClaims>();
      return null;
    });
    expectTypeOf(requireScopes)
      .parameter(0)
      .toEqualTypeOf<"read:items" | "write:items" | "admin:items" | "read:audit">();
    // @ts-expect-error a misspelt scope does not compile
    requireScopes("write:itemz");
    // @ts-expect-error at least one scope is needed
    requireScopes();
  });

  it("gives requireDpop handlers the DPoP binding, never undefined", () => {
    requireDpop("read:items").query(({ ctx }) => {
      expectTypeOf(ctx.auth.dpop).toEqualTypeOf<DpopBinding>();
      expectTypeOf(ctx.auth.sub).toBeString();
      return null;
    });
    // @ts-expect-error a misspelt scope does not compile
    requireDpop("write:itemz");
  });
});
