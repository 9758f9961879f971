import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../db/tenants';
import { createdApiKeyView } from './api-keys';

/** POST /api/v1/tenants: a tenant, its id derived from the name when absent. */
export const createTenantRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    id: z
      .string()
      .regex(TENANT_ID_PATTERN, `must match ${TENANT_ID_PATTERN.source}`)
      .optional()
      .meta({ description: 'Default: a slug of the name (lower case, dashes)' }),
  })
  .meta({ description: 'Create a tenant (platform admins); the answer carries its first admin key, shown once' });

export const tenantView = z.object({ id: z.string(), name: z.string(), createdAt: z.iso.datetime() });

export const createdTenantView = tenantView.extend({
  adminKey: createdApiKeyView.meta({ description: 'The tenant’s first admin key (not a platform admin)' }),
});

/**
 * The tenant id for a name: lower case, runs of other characters as one dash, no dash at either end, at most 32
 * characters, `t-` in front when it would not start with a letter. Undefined when nothing usable is left (a name of
 * symbols only): the caller asks for an explicit id.
 */
export function tenantSlug(name: string): string | undefined {
  let slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(slug)) slug = `t-${slug}`;
  slug = slug.slice(0, 32).replace(/-+$/, '');
  return TENANT_ID_PATTERN.test(slug) ? slug : undefined;
}
