import { expect, it } from "vitest";
import { runtimeSupportNotice } from "./runtime-support.js";

it("explains the library's warning on the Node.js releases it warns about", () => {
  for (const [lts, version] of [
    ["Iron", "v20.19.0"],
    [undefined, "v23.1.0"],
  ] as const) {
    const notice = runtimeSupportNotice({ lts }, version);
    expect(notice).toContain(`Node.js ${version}`);
    expect(notice).toContain("Node.js 22 LTS and later");
    expect(notice).toContain("supports Node.js 20.19 and later");
  }
});

it("says nothing on the LTS releases the library supports", () => {
  expect(runtimeSupportNotice({ lts: "Jod" }, "v22.12.0")).toBeUndefined();
  expect(runtimeSupportNotice({ lts: "Krypton" }, "v24.11.0")).toBeUndefined();
});
