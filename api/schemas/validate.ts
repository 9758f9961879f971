import { z } from 'zod';
import { ValidationError } from '../../common/errors';

/** `params.k`, `data[3][1]`: the path of a zod issue written the way a client reads its own JSON. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

/** Validates at the edge: the first problem becomes a 400 naming its field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = fieldPath([...(prefix ? [prefix] : []), ...issue.path]);
  const code = issue.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_request';
  const where = field ? `${field}: ` : '';
  throw new ValidationError(`${where}${issue.message}`, field || undefined, code);
}
