/**
 * The tenant that existed before tenants did: every row from then records it, its job ids carry no tenant prefix
 * (common/job-tenant.ts), and the bootstrap key belongs to it.
 */
export const DEFAULT_TENANT = 'default';
