import { expect } from 'chai';
import { createLogger } from '../../common/logger';
import { redactApiKeys } from '../../common/redact';

const ID = '0123456789abcdef';
const SECRET = 'LSN5abcDEF_ghi-jkl0123456789abcdefghijklmnop';
const KEY = `kiln_${ID}_${SECRET}`;
/** Every character of `text` as %XX. */
const encodeAll = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');

/** API keys written percent-encoded (the breaker's `kiln%5F<id>%5F<secret>`) are masked like plain ones. */
describe('redactApiKeys: percent-encoded keys', () => {
  const cases: Array<[string, string]> = [
    ['%5F separators', `/api/v1/api-keys/kiln%5F${ID}%5F${SECRET}`],
    ['%5f separators', `/api/v1/api-keys/kiln%5f${ID}%5f${SECRET}`],
    ['one separator encoded', `/api/v1/api-keys/kiln_${ID}%5F${SECRET}`],
    ['a secret with encoded characters', `/api/v1/api-keys/kiln%5F${ID}%5F${SECRET.replace(/-/g, '%2D')}`],
    ['encoded twice', `/api/v1/api-keys/kiln%255F${ID}%255F${SECRET}`],
    ['every character encoded', `/api/v1/api-keys/${encodeAll(KEY)}`],
    ['in a query', `/api/v1/models?key=kiln%5F${ID}%5F${SECRET}&x=1`],
    ['in a message', `could not revoke "kiln%5F${ID}%5F${SECRET}": no route`],
    ['upper-case prefix', `/x/KILN%5F${ID}%5F${SECRET}`],
    ['after a word character', `token=x_kiln_${ID}_${SECRET}`],
  ];
  for (const [what, text] of cases) {
    it(`masks the secret: ${what}`, () => {
      const masked = redactApiKeys(text);
      expect(masked).to.not.include(SECRET);
      expect(masked).to.not.include(SECRET.slice(0, 12));
      expect(masked).to.include(`${ID}_[redacted]`);
    });
  }

  it('leaves text without a key as it is, escapes included', () => {
    for (const text of ['/api/v1/models/my%20model', '/api/v1/jobs?q=a%5Fb', 'kiln_ is a prefix', '100% done']) {
      expect(redactApiKeys(text)).to.equal(text);
    }
  });

  it('stays linear on long input', () => {
    const long = `${'a%2'.repeat(50_000)}${'b'.repeat(100_000)}`;
    const started = performance.now();
    expect(redactApiKeys(long)).to.equal(long);
    expect(performance.now() - started).to.be.below(1000);
  });

  it('the logger masks encoded keys in paths, messages and errors', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const encoded = `kiln%5F${ID}%5F${SECRET}`;
    log.debug({ path: `/api/v1/api-keys/${encoded}` }, 'request');
    log.info(`revoking /api/v1/api-keys/${encoded.toLowerCase()}`);
    log.error({ err: new Error(`no route for DELETE /api/v1/api-keys/${encoded}`) }, 'failed');
    expect(lines).to.have.length(3);
    for (const line of lines) {
      expect(line).to.not.include(SECRET);
      expect(line).to.not.include(SECRET.toLowerCase());
    }
    expect(JSON.parse(lines[0]!).path).to.equal(`/api/v1/api-keys/kiln_${ID}_[redacted]`);
  });
});
