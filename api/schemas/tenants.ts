import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../db/tenants';
import { createdApiKeyView } from './api-keys';
import { displayName } from './display-name';

/** POST /api/v1/tenants: a tenant, its id derived from the name when absent. */
export const createTenantRequest = z
  .strictObject({
    name: displayName(200),
    id: z
      .string()
      .regex(TENANT_ID_PATTERN, `must match ${TENANT_ID_PATTERN.source}`)
      .optional()
      .meta({ description: 'Default: a slug of the name (lower case, dashes)' }),
  })
  .meta({ description: 'Create a tenant (platform admins); the answer carries its first admin key, shown once' });

export const tenantView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  disabled: z.boolean().meta({ description: 'Its keys, sessions and members are refused (403 tenant_disabled)' }),
  disabledAt: z.iso.datetime().nullable(),
});

/** PATCH /api/v1/tenants/{id}: disable or enable a tenant (platform admins). */
export const updateTenantRequest = z
  .strictObject({
    disabled: z.boolean().meta({
      description:
        'true: its API keys, console sessions and SSO members are refused (403 tenant_disabled) on every route; ' +
        'its data, running jobs and schedules are left alone. false: enabled again',
    }),
  })
  .meta({ description: 'Disable or enable a tenant (platform admins)' });

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
