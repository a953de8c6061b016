export const AUTH_PACKAGE = "@repo/auth";
