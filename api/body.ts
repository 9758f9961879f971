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
  const raw = await readJsonBytes(ctx, maxBytes);
  return { body: parseJson(raw), sha256: createHash('sha256').update(raw).digest('hex') };
}

/** readJsonRequest's body alone (without hashing it: only an Idempotency-Key needs the hash). */
export async function readJsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  return parseJson(await readJsonBytes(ctx, maxBytes));
}

/** The body's bytes under the limit: 415 unless JSON, 413 past the limit, 400 when empty. */
async function readJsonBytes(ctx: Context, maxBytes: number): Promise<Buffer> {
  requireJson(ctx);
  const raw = await readBodyLimited(ctx.req, maxBytes);
  if (raw.length === 0) throw new ValidationError('the request body is empty', 'body', 'invalid_json');
  return raw;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new ValidationError(`the body is not valid JSON: ${(err as Error).message}`, 'body', 'invalid_json');
  }
}
