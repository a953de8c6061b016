/**
 * Whether an authorization server's metadata `issuer` names the issuer it was expected to (RFC 8414
 * §3.3, OpenID Connect Discovery §4.3: metadata naming another issuer must not be used). The two
 * must be equal, but for one trailing slash: users write a provider's address both ways (Auth0's
 * issuer ends with a slash, the domain users copy does not). Whoever accepts a match with the slash
 * differing then expects the metadata's own spelling, which is what the provider puts in tokens.
 *
 * @example
 * ```ts
 * issuerMatches("https://tenant.eu.auth0.com/", "https://tenant.eu.auth0.com"); // true
 * issuerMatches("https://attacker.example/", "https://tenant.eu.auth0.com/"); // false
 * ```
 */
export function issuerMatches(found: string, expected: string): boolean {
  return found === expected || found === `${expected}/` || `${found}/` === expected;
}
