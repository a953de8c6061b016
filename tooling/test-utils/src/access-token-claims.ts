/** Valid claims of an Auth0 client-credentials access token for `issuer`/`audience` at `nowSeconds`. */
export function claimsFor(
  issuer: string,
  audience: string | string[],
  nowSeconds: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: "client-1@clients",
    aud: audience,
    iat: nowSeconds - 10,
    exp: nowSeconds + 3600,
    scope: "read:items write:items",
    azp: "client-1",
    gty: "client-credentials",
    ...extra,
  };
}
