import { DEFAULT_TENANT } from './tenant';

/**
 * What a job id (a workflow id, also a schedule's) says of its tenant: tenant T other than the default tenant has ids
 * `T.<kind>-<uuid>`, the default tenant keeps `<kind>-<uuid>` (ids from before tenants stay valid). Tenant ids have no
 * dot (^[a-z][a-z0-9-]{1,31}$), so the part before the first '.' is the tenant; an id without one is the default's.
 */
export function tenantOfJobId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? DEFAULT_TENANT : id.slice(0, dot);
}

/** The prefix a tenant's job and schedule ids carry: `T.`, and nothing for the default tenant. */
export function tenantIdPrefix(tenantId: string): string {
  return tenantId === DEFAULT_TENANT ? '' : `${tenantId}.`;
}

/** The id without its tenant prefix (`<kind>-<uuid>`), as the default tenant would have it. */
export function unprefixedJobId(id: string): string {
  return id.slice(id.indexOf('.') + 1);
}
