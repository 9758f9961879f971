import { ValidationError } from '../common/errors';

/** The message of the fallback 400: the field is not known here, only that some text value could not be stored. */
export const UNSTORABLE_TEXT_MESSAGE = 'a text value holds a character that cannot be stored: NUL or a lone surrogate';

/**
 * Whether a Postgres error means "this text cannot be stored", as reproduced against Postgres 16 with node-postgres
 * (which sends a JS string as UTF-8, so the only bytes it refuses come from NUL):
 * - 22021 character_not_in_repertoire, `invalid byte sequence for encoding "UTF8": 0x00`: NUL in a text parameter;
 * - 22P05 untranslatable_character, `unsupported Unicode escape sequence` (detail `\u0000 cannot be converted to
 *   text.`): NUL in jsonb;
 * - 22P02 invalid_text_representation, `invalid input syntax for type json` with a detail about a surrogate
 *   (`Unicode low surrogate must follow a high surrogate.`): a lone surrogate in jsonb. Only with that detail:
 *   22P02 is also a bad uuid or number cast, which is not the caller's text.
 */
function isUnstorableText(e: Error): boolean {
  const { code, detail } = e as { code?: unknown; detail?: unknown };
  if (code === '22021') return e.message.startsWith('invalid byte sequence for encoding');
  if (code === '22P05') return true;
  if (code === '22P02')
    return e.message.startsWith('invalid input syntax for type json') && /surrogate/i.test(String(detail ?? ''));
  return false;
}

/**
 * The 400 (code `unstorable_text`, no field) for a Postgres error raised because a text value held NUL or a lone
 * surrogate (see isUnstorableText), looking through `cause`; undefined for any other error. A fallback only: every
 * free-text field is checked at the edge (api/schemas/storable-text.ts, datasets/table-builder.ts) with an error naming
 * it, so reaching this means a field lacks its check.
 */
export function unstorableTextError(err: unknown): ValidationError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isUnstorableText(e)) return new ValidationError(UNSTORABLE_TEXT_MESSAGE, undefined, 'unstorable_text');
  }
  return undefined;
}
