import { createHash } from 'node:crypto';
import { Context } from 'koa';
import { UnsupportedMediaTypeError, ValidationError } from '../common/errors';
import { readBodyLimited } from '../datasets/read-body';

/** A JSON request body and the hex sha256 of its bytes as received (what an Idempotency-Key's request is). */
export interface JsonRequest {
  body: unknown;
  sha256: string;
}

/** The 415 for a body that is not JSON. */
export function requireJson(ctx: Context): void {
  if (!ctx.is('application/json')) {
    throw new UnsupportedMediaTypeError(
      `expected Content-Type application/json, got ${ctx.get('content-type') || 'none'}`,
    );
  }
}

/** Reads a JSON request body under a byte limit (413 past it), with 415 for other types and 400 for bad JSON. */
export async function readJsonRequest(ctx: Context, maxBytes: number): Promise<JsonRequest> {
  requireJson(ctx);
  const raw = await readBodyLimited(ctx.req, maxBytes);
  if (raw.length === 0) throw new ValidationError('the request body is empty', 'body', 'invalid_json');
  const sha256 = createHash('sha256').update(raw).digest('hex');
  try {
    return { body: JSON.parse(raw.toString('utf8')) as unknown, sha256 };
  } catch (err) {
    throw new ValidationError(`the body is not valid JSON: ${(err as Error).message}`, 'body', 'invalid_json');
  }
}

/** readJsonRequest's body alone. */
export async function readJsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  return (await readJsonRequest(ctx, maxBytes)).body;
}
