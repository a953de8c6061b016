import { errors } from "oidc-provider";

/**
 * Auth0 answers refused client-credentials requests with HTTP 403 `access_denied` (unknown
 * audience, no client grant, scopes not granted), where oidc-provider's own errors are 400s.
 */
export class AccessDenied extends errors.OIDCProviderError {
  constructor(description: string) {
    super(403, "access_denied");
    this.error_description = description;
  }
}
