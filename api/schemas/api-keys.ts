import { z } from 'zod';
import { ROLES } from '../../common/auth/roles';
import { MAX_ROTATION_GRACE_SECONDS } from '../../db/api-key-lifecycle';
import { displayName } from './display-name';

/** Key ids: the 16 hex characters of `kiln_<keyId>_<secret>`. */
export const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

/** A key's label: what it is for ("ci", "notebook of ada"). */
const keyName = displayName(200);

/**
 * POST /api/v1/api-keys: a key of the caller's tenant. Strict: `tenantId` is an unknown field (a key is always of the
 * caller's tenant). `platformAdmin: true` is for platform-admin callers only, with role admin (the route checks).
 */
export const createApiKeyRequest = z
  .strictObject({
    name: keyName,
    role: z.enum(ROLES),
    platformAdmin: z.boolean().optional().meta({
      description:
        'A platform admin (manages tenants): only a platform admin may ask, and only with role admin. Default false',
    }),
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
  revokedAt: z.iso.datetime().nullable().meta({
    description: 'When it stops working by revocation: in the future while a rotation’s grace period runs',
  }),
  revokedBy: z
    .string()
    .nullable()
    .meta({ description: 'The principal that revoked or rotated it (from the audit trail)' }),
  replacedBy: z
    .string()
    .regex(KEY_ID_PATTERN)
    .nullable()
    .meta({ description: 'The id of the key that replaced it (rotation), else null' }),
  lastUsedAt: z.iso.datetime().nullable(),
});

/** Most keys GET /api/v1/api-keys lists at once (and its default). */
export const MAX_KEYS_LISTED = 1000;

/** GET /api/v1/api-keys's query: `limit` only (another parameter is a 400 naming it). */
export const listApiKeysQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_KEYS_LISTED).default(MAX_KEYS_LISTED),
});

/** The answer to a key's creation: the record and, this once, the key itself. */
export const createdApiKeyView = apiKeyView.extend({
  key: z.string().meta({ description: 'kiln_<keyId>_<secret>: shown only in this answer; store it now' }),
});

/**
 * POST /api/v1/api-keys/{keyId}/rotate's body (optional: no body means no grace). `graceSeconds` beyond the limit is
 * a 400 naming the field. No grace for the last way in (platform or tenant admin) is a 409 (api/routes/api-keys.ts).
 */
export const rotateApiKeyRequest = z
  .strictObject({
    // The bounds before int(): zod's int() also checks the safe-integer range, and a huge number (1e23) would be
    // refused first as "<=9007199254740991" rather than with the limit that matters.
    graceSeconds: z
      .number()
      .min(0, 'must be at least 0')
      .max(MAX_ROTATION_GRACE_SECONDS, `must be at most ${MAX_ROTATION_GRACE_SECONDS} (one day)`)
      .int('must be a whole number of seconds')
      .default(0)
      .meta({
        description:
          `Seconds the old key keeps working (0 to ${MAX_ROTATION_GRACE_SECONDS}, one day); default 0: revoked at once. ` +
          'The last admin way in of a tenant, or the last platform-admin key, needs a grace (409 otherwise). A grace ' +
          'is for handing the new key over, not for containing a leaked key: revoke that (DELETE), which ends it at once',
      }),
  })
  .meta({ description: 'Rotate a key: a new key with the same name, role, platform-admin flag and expiry' });

/** The answer to a rotation: the new key (shown once) and the old key's record after it. */
export const rotatedApiKeyView = createdApiKeyView.extend({
  previous: apiKeyView.meta({
    description: 'The rotated key: revokedAt is when it stops working, replacedBy this key',
  }),
});

/**
 * PATCH /api/v1/api-keys/{keyId}: a key's role and/or name (at least one). `platformAdmin` and `tenantId` are
 * unknown fields: neither ever changes.
 */
export const updateApiKeyRequest = z
  .strictObject({
    role: z.enum(ROLES).optional().meta({ description: 'A platform-admin key keeps role admin' }),
    name: keyName.optional(),
  })
  .refine((change) => change.role !== undefined || change.name !== undefined, {
    message: 'give role, name or both',
    path: ['role'],
  })
  .meta({ description: 'Change a key’s role or name; this replica applies it at once, others within 5 s' });
