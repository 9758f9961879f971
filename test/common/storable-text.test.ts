import { expect } from 'chai';
import { findUnstorable, isStorableText, unstorableMessage } from '../../common/storable-text';
import { SAFE_FREE_TEXT, UNSAFE_NAMES, UNSTORABLE } from '../support/unsafe-names';

describe('common/storable-text', () => {
  it('refuses NUL and lone surrogates anywhere, saying which and where', () => {
    for (const bad of Object.values(UNSTORABLE)) expect(isStorableText(bad), JSON.stringify(bad)).to.equal(false);
    expect(findUnstorable('a\u0000b')).to.equal('NUL (U+0000) at index 1');
    expect(findUnstorable('\ud800')).to.equal('a lone surrogate (U+D800) at index 0');
    expect(findUnstorable('ok🚀\udfff')).to.equal('a lone surrogate (U+DFFF) at index 4');
    // Two high surrogates in a row are two lone ones; a low one before a high one is no pair either.
    expect(findUnstorable('x\ud83d\ud83d')).to.equal('a lone surrogate (U+D83D) at index 1');
    expect(isStorableText('\ude00\ud83d')).to.equal(false);
    expect(isStorableText('tail\u0000')).to.equal(false);
    expect(unstorableMessage('a\u0000b')).to.equal(
      'must not contain NUL or a lone surrogate (text Postgres cannot store); found NUL (U+0000) at index 1',
    );
  });

  it('accepts any other text: newlines, tabs, other controls, emoji (surrogate pairs), the empty string', () => {
    for (const ok of [
      SAFE_FREE_TEXT,
      '',
      '🚀',
      '\ud83d\ude00',
      UNSAFE_NAMES.newline,
      UNSAFE_NAMES['ANSI escape'],
      'é',
    ]) {
      expect(isStorableText(ok), JSON.stringify(ok)).to.equal(true);
      expect(findUnstorable(ok)).to.equal(undefined);
    }
  });
});
