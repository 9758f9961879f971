/**
 * Keeping secrets out of logs: the database password inside DATABASE_URL, API keys (TEMPORAL_API_KEY), TLS private
 * keys and `authorization` / `cookie` headers. common/logger.ts applies all of this to every log line through pino's
 * `redact` (by key, at any depth up to REDACT_DEPTH), its `err` serializer and a hook on the message itself.
 */

/** Object keys whose values are secrets wherever they appear in a logged object. */
export const SECRET_KEYS = [
  'password',
  'apiKey',
  'authorization',
  'cookie',
  'databaseUrl',
  'DATABASE_URL',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'url',
] as const;

/** How deep below the logged object's top level a secret key is still found (`config.temporal.connection.apiKey`). */
export const REDACT_DEPTH = 4;

/** pino `redact.paths` for SECRET_KEYS at every depth up to REDACT_DEPTH, plus the TLS private key and x-api-key. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (let depth = 0; depth <= REDACT_DEPTH; depth++) {
    const prefix = '*.'.repeat(depth);
    for (const key of SECRET_KEYS) paths.push(`${prefix}${key}`);
    paths.push(`${prefix}clientCertPair.key`);
    if (depth > 0) paths.push(`${'*.'.repeat(depth - 1)}headers["x-api-key"]`);
  }
  return paths;
}

// scheme://user:password@ — the password is everything between the user's colon and the '@'.
const CREDENTIALS_IN_URL = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;

/**
 * `postgres://kiln:secret@db:5432/kiln` → `postgres://kiln:***@db:5432/kiln`: the password of every URL in `text`
 * replaced; text without credentials is returned unchanged.
 */
export function redactUrl(text: string): string {
  return text.replace(CREDENTIALS_IN_URL, '$1:***@');
}

// A Kiln API key, `kiln_<16 hex id>_<secret>`: the id is kept (it is not secret and says which key), the rest goes.
const API_KEY_IN_TEXT = /\bkiln_([0-9a-f]{16})_[A-Za-z0-9_%-]+/g;

/**
 * `/api/v1/api-keys/kiln_0123456789abcdef_<secret>` → `/api/v1/api-keys/kiln_0123456789abcdef_[redacted]`: every API
 * key in `text` (a request path someone pasted a key into, a message quoting one) with its secret masked.
 */
export function redactApiKeys(text: string): string {
  return text.replace(API_KEY_IN_TEXT, 'kiln_$1_[redacted]');
}

/**
 * pino `redact.censor`: a value under a URL-ish key (`databaseUrl`, `DATABASE_URL`, `url`) keeps its shape with the
 * password masked, so the log still says which server; any other secret becomes `[redacted]`.
 */
export function censor(value: unknown, path: Array<string | symbol>): unknown {
  const key = String(path[path.length - 1] ?? '');
  if (typeof value === 'string' && /url$/i.test(key)) return redactUrl(value);
  return '[redacted]';
}
