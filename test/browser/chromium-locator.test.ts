import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INSTALL_CHROMIUM, locateChromium } from '../support/chromium';

describe('locating Chromium for the browser tests', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the configured path (KILN_CHROMIUM, else CHROMIUM_PATH) first', () => {
    expect(locateChromium('/opt/chromium/chrome', dir)).to.equal('/opt/chromium/chrome');
  });

  it('else finds chromium, then chromium-browser, on PATH (executable files only)', () => {
    const browser = path.join(dir, 'chromium-browser');
    fs.writeFileSync(browser, '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'chromium'), 'not executable', { mode: 0o644 });
    expect(locateChromium(undefined, `/nonexistent${path.delimiter}${dir}`)).to.equal(browser);
  });

  it('fails, naming the install command, when there is none', () => {
    expect(() => locateChromium(undefined, '/nonexistent')).to.throw(INSTALL_CHROMIUM);
    expect(() => locateChromium(undefined, undefined)).to.throw(/no Chromium for the browser tests/);
  });
});
