import { z } from 'zod';
import { isStorableText, unstorableMessage } from '../../common/storable-text';

/**
 * Control characters: C0 (NUL, newline, ESC of ANSI sequences...), DEL and C1. Postgres refuses NUL in text and
 * jsonb (a 500 otherwise); the others forge lines in logs or colour a terminal.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069): they make text read reversed. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

/**
 * A human-readable label (a key's or a tenant's name): trimmed, 1 to `max` characters (UTF-16 units), refused (400
 * naming the field) when it holds a control character, a bidi control or a lone surrogate (common/storable-text.ts).
 */
export function displayName(max = 200): z.ZodString {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL.test(s), { message: 'must not contain control characters (NUL, newline, ESC, ...)' })
    .refine((s) => !BIDI_CONTROL.test(s), { message: 'must not contain bidi controls (U+202A-U+202E, U+2066-U+2069)' })
    .refine(isStorableText, { error: (issue) => unstorableMessage(issue.input as string) });
}
