import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import { modelName } from './common';
import { storableText } from './storable-text';

/** Documented limits of the model registry API (README: API, Limits). */
export const MODEL_LIMITS = {
  maxTags: 50,
  maxTagKeyLength: 128,
  maxTagValueLength: 1024,
  maxDescriptionLength: 5000,
  maxListLimit: 500,
  maxEventsLimit: 1000,
  maxProtectedAliases: 20,
} as const;

/** Postgres `integer`: a version number past it cannot name a row (and must not reach Postgres as a range error). */
const MAX_VERSION = 2_147_483_647;

/** Tag keys: letters, digits, `_ . : / -`, starting with a letter or digit (so `__proto__` and friends are out). */
export const TAG_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const TAG_KEY_RULE = `must be 1-${MODEL_LIMITS.maxTagKeyLength} characters of letters, digits, "_", ".", ":", "/" or "-", starting with a letter or digit`;

/** Alias names: lowercase, starting with a letter; `latest` and version-like `v<digits>` are reserved (as in MLflow). */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
const ALIAS_RULE = 'must be 1-64 characters of lowercase letters, digits, "_" or "-", starting with a letter';
export const RESERVED_ALIAS = /^(latest|v[0-9]+)$/;

export const MODEL_STATUSES = ['READY', 'FAILED_VALIDATION', 'ARCHIVED'] as const;

const tagKey = z.string().regex(TAG_KEY_PATTERN, TAG_KEY_RULE);
const tagValue = storableText().max(MODEL_LIMITS.maxTagValueLength);
const tooManyTags = { message: `at most ${MODEL_LIMITS.maxTags} tags` };

export const tags = z
  .record(tagKey, tagValue)
  .refine((t) => Object.keys(t).length <= MODEL_LIMITS.maxTags, tooManyTags)
  .meta({
    description: `String → string map; at most ${MODEL_LIMITS.maxTags} tags, keys ${TAG_KEY_PATTERN.source}, values ≤ ${MODEL_LIMITS.maxTagValueLength} characters`,
  });

/** A tags patch (JSON merge patch, RFC 7396): a string sets the key, null removes it; other keys are kept. */
export const tagsPatch = z
  .record(tagKey, tagValue.nullable())
  .refine((t) => Object.keys(t).length <= MODEL_LIMITS.maxTags, tooManyTags)
  .meta({
    description:
      'Merged into the stored tags: a string sets the key, null removes it. The result may hold at most 50 tags.',
  });

/** A model's or a version's description: free text (newlines too), nothing Postgres cannot store. */
const description = storableText().max(MODEL_LIMITS.maxDescriptionLength);

export const createModelRequest = z
  .strictObject({ name: modelName, description: description.optional(), tags: tags.optional() })
  .meta({ description: 'Register a model name (versions are added by jobs)' });

/** A model's protected aliases: alias names (not reserved ones), replacing the stored list. */
export const protectedAliases = z
  .array(
    z
      .string()
      .regex(ALIAS_PATTERN, ALIAS_RULE)
      .refine((a) => !RESERVED_ALIAS.test(a), 'is reserved ("latest" and "v<number>" cannot be aliases)'),
  )
  .max(MODEL_LIMITS.maxProtectedAliases)
  .meta({
    description:
      `Aliases only an approver (or a pipeline's approval) may move or delete, replacing the stored list; \`champion\` ` +
      `is always protected. At most ${MODEL_LIMITS.maxProtectedAliases}; changing it needs the approver role`,
  });

export const updateModelRequest = z
  .strictObject({
    description: description.nullable().optional(),
    tags: tagsPatch.optional(),
    protectedAliases: protectedAliases.optional(),
  })
  .meta({
    description:
      'Change the description (null clears it), merge tags and/or replace the protected aliases (approver); at least one field',
  });

export const updateVersionRequest = z
  .strictObject({
    description: description.nullable().optional(),
    tags: tagsPatch.optional(),
    status: z.enum(MODEL_STATUSES).optional(),
  })
  .meta({ description: "Change a version's description, tags (merged) and/or status; at least one field" });

/** A version number: a positive integer in JSON, or its decimal string (MLflow's REST API sends strings). */
export const versionNumber = z.union([
  z.number().int().min(1).max(MAX_VERSION),
  z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/)
    .transform(Number)
    .pipe(z.number().max(MAX_VERSION)),
]);

export const setAliasRequest = z
  .strictObject({ version: versionNumber })
  .meta({ description: 'Point the alias at this version' });

/** `:version` in a path: digits only (no `1e0`, `0x1`, ` 1`), within Postgres integer range. */
export const versionParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(z.number().max(MAX_VERSION, 'is out of range'));

export const aliasParam = z.string().regex(ALIAS_PATTERN, ALIAS_RULE);

export const listModelsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MODEL_LIMITS.maxListLimit).default(50),
});

export const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(MODEL_LIMITS.maxEventsLimit).default(100),
});

/**
 * Tag keys as the client sent them, checked before zod builds its record (zod silently drops a `__proto__` key and
 * reports others as a bare "Invalid key"): the first bad key is a 400 naming `tags.<key>`.
 */
export function checkTagKeys(body: unknown, field = 'tags'): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const raw = (body as Record<string, unknown>)[field];
  if (
    !Object.prototype.hasOwnProperty.call(body, field) ||
    typeof raw !== 'object' ||
    raw === null ||
    Array.isArray(raw)
  )
    return;
  for (const key of Object.keys(raw)) {
    if (!TAG_KEY_PATTERN.test(key)) {
      throw new ValidationError(
        `${field}: key ${JSON.stringify(key.slice(0, 200))} ${TAG_KEY_RULE}`,
        `${field}.${key.slice(0, 200)}`,
      );
    }
  }
}
