import { expect, it } from "vitest";
import { requestIdFrom } from "./request-id";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it("reuses the id a proxy sent", () => {
  expect(requestIdFrom("3f6c2a9e-8d1b-4c3e-9a7f-0b5d4e6c1a2b")).toBe(
    "3f6c2a9e-8d1b-4c3e-9a7f-0b5d4e6c1a2b",
  );
  expect(requestIdFrom("Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8")).toBe(
    "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8",
  );
});

it.each([
  ["absent", undefined],
  ["empty", ""],
  ["too long", "a".repeat(129)],
  ["with a space", "two words"],
  ["with a line break", "id\r\nx-forged: yes"],
  ["with quotes", '"quoted"'],
])("makes a new id when the incoming one is %s", (_case, incoming) => {
  expect(requestIdFrom(incoming)).toMatch(uuid);
});

it("makes a different id for each request", () => {
  expect(requestIdFrom(null)).not.toBe(requestIdFrom(null));
});
