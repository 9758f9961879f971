import type { Role } from './roles';

/**
 * Who a request acts for, once authenticated: an API key or an SSO token's subject, in one tenant with one role.
 * `id` is what the audit trail records: `key:<keyId>` or `sso:<issuer>|<sub>`.
 */
export interface Principal {
  id: string;
  tenantId: string;
  role: Role;
  /** May create and list tenants (the bootstrap key). */
  platformAdmin: boolean;
  /** For an API key: its id (the `<keyId>` of `kiln_<keyId>_<secret>`). */
  keyId?: string;
  /** For an SSO token: `<issuer>|<sub>`. */
  subject?: string;
}
