/** The first LTS release line oidc-provider 9 supports: Node.js 22, code name "Jod". */
const FIRST_SUPPORTED_LTS = "Jod";

/**
 * What to say when this runtime is one oidc-provider 9 does not support. On such a runtime the
 * library prints its own "Unsupported runtime" warning when it is loaded; this says, in the
 * project's words, what that means here: the packages and apps support Node.js 20.19 and later
 * and are tested on Node.js 20, while the dev issuer's library is supported upstream on 22 LTS and
 * later. `undefined` on a runtime the library supports (the same check it makes: an LTS release
 * from "Jod" on).
 *
 * @example
 * const notice = runtimeSupportNotice();
 * if (notice) console.warn(`issuer: ${notice}`);
 */
export function runtimeSupportNotice(
  release: { lts?: string | undefined } = process.release,
  version: string = process.version,
): string | undefined {
  const lts = release.lts;
  if (lts !== undefined && lts.charCodeAt(0) >= FIRST_SUPPORTED_LTS.charCodeAt(0)) return undefined;
  return (
    `Node.js ${version}: oidc-provider 9, the dev issuer's library, is supported upstream on ` +
    "Node.js 22 LTS and later, hence its warning; this repository, the dev issuer included, " +
    "supports Node.js 20.19 and later and is tested on Node.js 20."
  );
}
