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
// Any case and no word boundary before it: over-masking costs a log line some text, under-masking a key.
const API_KEY_IN_TEXT = /kiln_([0-9a-f]{16})_[A-Za-z0-9_%-]+/gi;

// Characters a percent-encoded key's run of text is made of (a path segment, a query value): the run ends at anything
// else ('/', '?', '=', quotes, spaces), so a run is matched in one linear pass.
const URL_RUN = /[A-Za-z0-9_.~%-]+/g;
const PERCENT_ESCAPE = /%[0-9a-f]{2}/i;

/** `run` with its %XX escapes decoded, up to three times over (`%255F` → `%5F` → `_`), each byte as one character. */
function percentDecoded(run: string): string {
  let text = run;
  for (let round = 0; round < 3 && PERCENT_ESCAPE.test(text); round++) {
    text = text.replace(/%([0-9a-f]{2})/gi, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return text;
}

/**
 * `/api/v1/api-keys/kiln_0123456789abcdef_<secret>` → `/api/v1/api-keys/kiln_0123456789abcdef_[redacted]`: every API
 * key in `text` (a request path someone pasted a key into, a message quoting one) with its secret masked. A key written
 * percent-encoded, wholly or in part (`kiln%5F<id>%5F<secret>`, `%6Biln_...`, `%255F` encoded twice), is found too: a
 * run of URL characters holding an escape is decoded, and when the decoded text holds a key the run is written decoded
 * with the key masked.
 */
export function redactApiKeys(text: string): string {
  const plain = text.replace(API_KEY_IN_TEXT, 'kiln_$1_[redacted]');
  if (!PERCENT_ESCAPE.test(plain)) return plain;
  return plain.replace(URL_RUN, (run) => {
    if (!run.includes('%')) return run;
    const decoded = percentDecoded(run);
    const masked = decoded.replace(API_KEY_IN_TEXT, 'kiln_$1_[redacted]');
    return masked === decoded ? run : masked;
  });
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
