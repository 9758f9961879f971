import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { ForbiddenError, TenantDisabledError, ValidationError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { SsoConfig } from '../../common/sso-config';
import { membershipsOf } from '../../db/tenant-members';
import { TENANT_ID_PATTERN } from '../../db/tenants';
import { createSsoTokenVerifier, SsoTokenVerifier } from './sso-token';

/** The header naming the tenant an SSO request acts in, for a subject that is a member of several. */
export const TENANT_HEADER = 'X-Kiln-Tenant';

/**
 * Authenticates SSO bearer tokens (JWTs) as principals. The tenant and role come from tenant_members, never from a
 * claim of the token.
 */
export interface SsoVerifier {
  /**
   * KILN_JWT_ISSUER: the `iss` every token must carry, so the `<iss>` part of every subject this verifier answers. A
   * member subject of another issuer can never sign in (api/routes/members.ts refuses it; db/tenant-admins.ts counts
   * only admin members of this issuer as a way in).
   */
  readonly issuer: string;
  /**
   * The principal `sso:<issuer>|<sub>` for a token, in `requestedTenant` (the X-Kiln-Tenant header) or else the one
   * tenant its subject is a member of, with the role of that membership. Throws UnauthorizedError `invalid_token`
   * (401) for a token that does not verify; ForbiddenError `not_a_member` (403) for a valid token whose subject is
   * not a member (of the requested tenant), its message naming the subject and the PUT that adds it; ValidationError
   * (400, field X-Kiln-Tenant) when the header is malformed, or absent for a member of several tenants
   * (`tenant_required`); TenantDisabledError (403 `tenant_disabled`) when the tenant it would act in is disabled;
   * ServiceUnavailableError `identity_provider_unavailable` (503) when the identity provider's keys cannot be fetched
   * (sso-token.ts).
   */
  authenticate(token: string, requestedTenant: string | undefined): Promise<Principal>;
}

/** The verifier over a JWKS (`config`) and the memberships in Postgres; `verifyToken` replaces the JWKS in tests. */
export function createSsoVerifier(deps: {
  pool: Pick<Pool, 'query'>;
  config: SsoConfig;
  log?: Logger;
  verifyToken?: SsoTokenVerifier;
}): SsoVerifier {
  const verifyToken = deps.verifyToken ?? createSsoTokenVerifier(deps.config, deps.log);
  return {
    issuer: deps.config.issuer,
    async authenticate(token, requestedTenant) {
      const subject = await verifyToken(token);
      if (requestedTenant !== undefined && !TENANT_ID_PATTERN.test(requestedTenant)) {
        throw new ValidationError(
          `${TENANT_HEADER} must be a tenant id (a lower-case letter, then 1-31 of a-z, 0-9 and "-")`,
          TENANT_HEADER,
        );
      }
      const memberships = await membershipsOf(deps.pool, subject, requestedTenant);
      const [first] = memberships;
      if (!first) {
        // The subject as the token carries it and as the members route takes it: the user passes this on to an admin.
        const add = `PUT /api/v1/members/${encodeURIComponent(subject)} {"role": "viewer"} (or another role)`;
        throw new ForbiddenError(
          requestedTenant === undefined
            ? `the token is valid, but its subject "${subject}" is not a member of any tenant: an admin of the ` +
                `tenant adds it with ${add}`
            : `the token is valid, but its subject "${subject}" is not a member of tenant "${requestedTenant}": ` +
                `an admin of that tenant adds it with ${add}`,
          'not_a_member',
        );
      }
      if (memberships.length > 1) {
        throw new ValidationError(
          `${subject} is a member of several tenants: name the one to act in with the ${TENANT_HEADER} header`,
          TENANT_HEADER,
          'tenant_required',
        );
      }
      if (first.tenantDisabled) throw new TenantDisabledError(first.tenantId);
      return { id: `sso:${subject}`, tenantId: first.tenantId, role: first.role, platformAdmin: false, subject };
    },
  };
}
