import { z } from 'zod';
import { ROLES } from '../../common/auth/roles';

/** Key ids: the 16 hex characters of `kiln_<keyId>_<secret>`. */
export const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

/** A key's label: what it is for ("ci", "notebook of ada"). */
const keyName = z.string().trim().min(1).max(200);

/**
 * POST /api/v1/api-keys: a key of the caller's tenant. Strict: `tenantId` or `platformAdmin` are unknown fields (a
 * key is always of the caller's tenant, and only the bootstrap creates platform admins).
 */
export const createApiKeyRequest = z
  .strictObject({
    name: keyName,
    role: z.enum(ROLES),
    expiresAt: z.iso
      .datetime({ offset: true })
      .refine((at) => Date.parse(at) > Date.now(), { message: 'must be in the future' })
      .optional()
      .meta({ description: 'When the key stops working (ISO 8601 with offset); absent: never' }),
  })
  .meta({ description: 'Create an API key of the caller’s tenant; the answer shows the key once' });

/** A key as the API shows it: never its secret or hash (db/api-keys.ts ApiKeyRecord). */
export const apiKeyView = z.object({
  keyId: z.string().regex(KEY_ID_PATTERN),
  tenantId: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  platformAdmin: z.boolean(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
});

/** The answer to a key's creation: the record and, this once, the key itself. */
export const createdApiKeyView = apiKeyView.extend({
  key: z.string().meta({ description: 'kiln_<keyId>_<secret>: shown only in this answer; store it now' }),
});
