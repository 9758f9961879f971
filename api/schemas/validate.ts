import { z } from 'zod';
import { ValidationError } from '../../common/errors';

/** `params.k`, `data[3][1]`: the path of a zod issue written the way a client reads its own JSON. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

/**
 * Validates at the edge: the first problem becomes a 400 naming its field. An unknown key names itself (`description2`,
 * `register.nmae`: code `unknown_field`), not the object it is in.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const unknownKey = unknownKeys[0];
  const field = fieldPath([
    ...(prefix ? [prefix] : []),
    ...issue.path,
    ...(unknownKey !== undefined ? [unknownKey] : []),
  ]);
  const code = unknownKey !== undefined ? 'unknown_field' : 'invalid_request';
  const message =
    unknownKey !== undefined
      ? `unknown field ${JSON.stringify(unknownKey)}${unknownKeys.length > 1 ? ` (and ${unknownKeys.length - 1} more)` : ''}`
      : issue.message;
  const where = field ? `${field}: ` : '';
  throw new ValidationError(`${where}${message}`, field || undefined, code);
}
