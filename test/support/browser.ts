import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { loadConfig } from '../../common/config';
import { repoRoot } from '../../common/paths';
import { locateChromium } from './chromium';

// colourPixels' function runs in the browser: its global, declared for this file only (the test build has no DOM library).
declare const document: any;

/** Where the browser tests leave their screenshots (gitignored), for a reviewer to look at. */
export const SCREENSHOT_DIR = path.join(repoRoot, 'test-output', 'screenshots');

/**
 * Headless Chromium (test/support/chromium.ts finds it, or the suite fails with the install command). As root, which
 * CI containers are, Chromium refuses to start its sandbox: it runs without it there.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = locateChromium(loadConfig(process.env).chromium, process.env.PATH);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath, headless: true, args: asRoot ? ['--no-sandbox'] : [] });
}

/** A full-page screenshot under SCREENSHOT_DIR (PNG). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Pixels of a chart's canvas (the first canvas inside `selector`) within `tolerance` per channel of `hex`
 * (`#rrggbb`): what a plotted series of that colour painted, read back from the canvas itself.
 */
export function colourPixels(page: Page, selector: string, hex: string, tolerance = 12): Promise<number> {
  return page.evaluate(
    ({ selector, hex, tolerance }) => {
      const canvas = document.querySelector(`${selector} canvas`);
      if (!canvas) throw new Error(`no canvas in ${selector}`);
      const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (
          data[i + 3] > 200 &&
          Math.abs(data[i] - rgb[0]) <= tolerance &&
          Math.abs(data[i + 1] - rgb[1]) <= tolerance &&
          Math.abs(data[i + 2] - rgb[2]) <= tolerance
        )
          count++;
      }
      return count;
    },
    { selector, hex, tolerance },
  );
}
