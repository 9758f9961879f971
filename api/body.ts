import { Context } from 'koa';
import { UnsupportedMediaTypeError, ValidationError } from '../common/errors';
import { readBodyLimited } from '../datasets/read-body';

/** Reads a JSON request body under a byte limit (413 past it), with 415 for other types and 400 for bad JSON. */
export async function readJsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new UnsupportedMediaTypeError(
      `expected Content-Type application/json, got ${ctx.get('content-type') || 'none'}`,
    );
  }
  const raw = await readBodyLimited(ctx.req, maxBytes);
  if (raw.length === 0) throw new ValidationError('the request body is empty', 'body', 'invalid_json');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ValidationError(`the body is not valid JSON: ${(err as Error).message}`, 'body', 'invalid_json');
  }
}
