import { createHash } from 'node:crypto';
import { ValidationError } from '../../common/errors';
import type { StartIdempotency } from './jobs';

/** The request header naming an idempotent start (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** What a key may be: 1 to 255 visible ASCII characters. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** An idempotent start as the submit services take it: the job's UUID (from the key) and the request's identity. */
export interface IdempotentStart extends StartIdempotency {
  /** The UUID part of the job id, derived from tenant, route and key: the same key always names the same job. */
  jobUuid: string;
}

/** sha256 of the parts, each length-prefixed so that no two different lists hash alike. */
function hashParts(parts: readonly string[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return hash.digest();
}

/** A UUID (version 8, RFC 9562: custom) from the first 16 bytes of a hash. */
function uuidFrom(hash: Buffer): string {
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The idempotent start a request asks for with an Idempotency-Key header, or undefined without one. The job id is
 * derived from (tenant, route, key), so every request with the same key on the same route names the same job; the
 * request's identity is sha256 over the route's path parameters and the body's bytes, so a key reused with another
 * body (or another model, another algorithm) is told apart (409). ValidationError (field `Idempotency-Key`) for a key
 * that is not 1-255 visible ASCII characters.
 *
 * @param route the route's template (`POST /api/v1/clustering`), the same for every request to it
 * @param pathParams the route's parameters (`{ name: 'iris' }`), part of the request's identity
 * @param bodySha256 hex sha256 of the request body's bytes as received
 */
export function idempotentStart(
  header: string | undefined,
  tenantId: string,
  route: string,
  pathParams: Record<string, string>,
  bodySha256: string,
): IdempotentStart | undefined {
  if (header === undefined || header === '') return undefined;
  if (!KEY_PATTERN.test(header)) {
    throw new ValidationError(
      `${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters (a UUID is a good key)`,
      IDEMPOTENCY_HEADER,
    );
  }
  const params = Object.entries(pathParams)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([k, v]) => [k, v]);
  return {
    jobUuid: uuidFrom(hashParts([tenantId, route, header])),
    requestSha256: hashParts([route, ...params, bodySha256]).toString('hex'),
  };
}
