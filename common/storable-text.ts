/**
 * Text Postgres can store. NUL (U+0000) is refused in `text` and `jsonb` alike, and a lone UTF-16 surrogate (U+D800 to
 * U+DFFF without its other half) is not Unicode: `jsonb` refuses it and `text` silently stores U+FFFD in its place.
 * Both arrive easily through JSON (`"\u0000"`, `"\ud800"`) and, for NUL, through CSV. Every free-text value taken from
 * a request is checked here first, so that it is refused with a 400 naming its field rather than a 500 from Postgres
 * or a mangled name. In common/ so that the API's schemas (api/schemas/storable-text.ts) and the dataset parsers
 * (datasets/table-builder.ts) share one rule.
 */

/**
 * NUL or a lone surrogate. With the `u` flag a surrogate pair is one code point (above U+FFFF), so the class matches
 * only a surrogate without its other half.
 */
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /[\u0000\ud800-\udfff]/u;

/** String.prototype.isWellFormed (ES2024, Node 20): not in the ES2022 library types this project compiles against. */
interface WellFormed {
  isWellFormed(): boolean;
}

const HAS_IS_WELL_FORMED = typeof (String.prototype as unknown as Partial<WellFormed>).isWellFormed === 'function';

/**
 * Whether `s` holds neither NUL nor a lone surrogate, linear in the length. The dataset parsers call it once per
 * distinct string: V8's indexOf and isWellFormed are about twice as fast as the `u` regex (3.4 ms against 6-9 ms for
 * 200,000 short strings), which keeps the check within noise of parsing an upload of unique strings.
 */
export function isStorableText(s: string): boolean {
  if (!HAS_IS_WELL_FORMED) return !UNSTORABLE.test(s);
  return s.indexOf('\u0000') === -1 && (s as unknown as WellFormed).isWellFormed();
}

/** What a field holding NUL or a lone surrogate is told (the API's schemas and the dataset parsers say the same). */
export const UNSTORABLE_RULE = 'must not contain NUL or a lone surrogate (text Postgres cannot store)';

/**
 * The first NUL or lone surrogate of `s`, what it is and its index (0-based, in UTF-16 code units as JavaScript counts
 * them), for an error message: `NUL (U+0000) at index 3`, `a lone surrogate (U+D800) at index 0`; undefined when the
 * text is storable.
 */
export function findUnstorable(s: string): string | undefined {
  const match = UNSTORABLE.exec(s);
  if (match === null) return undefined;
  const code = match[0].charCodeAt(0);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `${code === 0 ? 'NUL' : 'a lone surrogate'} (${hex}) at index ${match.index}`;
}

/** `<rule>; found NUL (U+0000) at index 3`: the message for an unstorable `s` (see findUnstorable). */
export function unstorableMessage(s: string): string {
  return `${UNSTORABLE_RULE}; found ${findUnstorable(s) ?? 'none'}`;
}
