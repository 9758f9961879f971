/**
 * Names a label field (a key's or a tenant's name) must refuse with a 400 naming it, one per class of character:
 * NUL and lone surrogates (Postgres refuses them in text and jsonb: a 500 before the check), control characters (a
 * forged log line, an ANSI escape) and bidi controls (text that reads reversed).
 */
export const UNSAFE_NAMES: Readonly<Record<string, string>> = {
  nul: 'ci\u0000key',
  'lone high surrogate': 'ci\ud800key',
  'lone low surrogate': 'ci\udfffkey',
  newline: 'ci\nkey',
  'ANSI escape': 'ci\u001b[31mkey',
  DEL: 'ci\u007fkey',
  'C1 control': 'ci\u0085key',
  'bidi override': 'ci\u202ekey',
  'bidi isolate': 'ci\u2066key',
};

/** A name with characters outside the BMP (a surrogate pair) and accents: accepted. */
export const SAFE_UNICODE_NAME = 'Équipe 🚀 ops';

/**
 * Characters Postgres cannot store, which every free-text field (descriptions, notes, comments, tag values, dataset
 * and column names, string cells) must refuse with a 400 naming it: NUL (refused in text and jsonb) and lone
 * surrogates (refused in jsonb, turned into U+FFFD in text). Each sits at index 1.
 */
export const UNSTORABLE: Readonly<Record<string, string>> = {
  nul: 'a\u0000b',
  'lone high surrogate': 'a\ud800b',
  'lone low surrogate': 'a\udfffb',
};

/** Free text that must still be accepted: newlines, a tab, accents and an emoji (a surrogate pair). */
export const SAFE_FREE_TEXT = 'First line\nsecond line\twith a tab, Équipe 🚀';
