import { z } from 'zod';
import { isStorableText, unstorableMessage } from '../../common/storable-text';

/**
 * A free-text field (a description, a note, a comment, a tag value, a dataset or column name): any string Postgres
 * can store, so newlines, tabs and emoji are fine; NUL and lone surrogates are a 400 naming the field, with what was
 * found and where (common/storable-text.ts). Add `.min()` / `.max()` after it as the field needs.
 */
export function storableText(): z.ZodString {
  return z.string().refine(isStorableText, {
    error: (issue) => unstorableMessage(issue.input as string),
  });
}
