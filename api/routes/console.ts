import * as path from 'node:path';
import Router from '@koa/router';
import { send } from '@koa/send';
import { Context } from 'koa';
import { NotFoundError } from '../../common/errors';
import { repoRoot } from '../../common/paths';
import { requires } from '../auth/access';

/** The console's own files (HTML, CSS, ES modules): console/ at the repository top, served as they are (no build). */
export const CONSOLE_DIR = path.join(repoRoot, 'console');

/**
 * Packages the browser loads from node_modules, by the name the console's import map and /docs use under /vendor/.
 * Only these folders are reachable; nothing else of node_modules is served.
 */
const VENDOR_PACKAGES: ReadonlyMap<string, string> = new Map([
  ['preact', 'preact'],
  ['htm', 'htm'],
  ['uplot', 'uplot'],
  ['swagger-ui', 'swagger-ui-dist'],
]);

/** How long a browser may keep a vendored file without asking again (they change only with package.json). */
const VENDOR_MAX_AGE_MS = 3600 * 1000;

/**
 * Sends `file` under `options.root`, or throws NotFoundError naming only the URL path: a missing file, a directory, a
 * dotfile or a path that tries to leave the root (send's own 404, 403 and 400 carry the file system path in their
 * message). Other failures (a 5xx) go on as they are.
 */
async function sendStatic(ctx: Context, file: string, options: NonNullable<Parameters<typeof send>[2]>): Promise<void> {
  let sent: string | undefined;
  try {
    sent = await send(ctx, file, options);
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (typeof status !== 'number' || status >= 500) throw err;
  }
  // send answers nothing (undefined) for a directory without index and for a hidden file.
  if (sent === undefined || ctx.body == null) throw new NotFoundError('file', ctx.path, 'path');
}

/** The console's files are revalidated on every load (ETag-less, by Last-Modified), so an edit shows at once. */
function sendConsoleFile(ctx: Context, file: string): Promise<void> {
  return sendStatic(ctx, file, {
    root: CONSOLE_DIR,
    index: false,
    setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
  });
}

/** A wildcard parameter as @koa/router hands it: the matched path, `a/b.js`. */
function wildcard(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join('/') : (value ?? '');
}

/**
 * The web console and the interactive API docs, outside /api so that no console path can shadow a JSON route:
 *
 * - `GET /`: the console, one page; its own routes live in the URL's hash (`/#/jobs/<id>`), so the server sees `/`;
 * - `GET /console/<file>`: its modules and styles (console/ at the repository top);
 * - `GET /vendor/<package>/<file>`: preact, htm, uPlot and Swagger UI from node_modules (no CDN, no network);
 * - `GET /docs`: Swagger UI over `GET /api/v1/openapi.json`.
 *
 * A missing file, a directory, a dotfile, a path trying to leave its folder, or a package not in the list, is the
 * API's JSON 404 naming the URL path only (sendStatic; `send` resolves paths under its root and refuses `..`).
 */
export function consoleRouter(): Router {
  const router = new Router();

  router.get('/', requires('public'), (ctx) => sendConsoleFile(ctx, 'index.html'));
  router.get('/docs', requires('public'), (ctx) => sendConsoleFile(ctx, 'docs.html'));
  router.get('/console/*file', requires('public'), (ctx) => sendConsoleFile(ctx, wildcard(ctx.params.file)));

  router.get('/vendor/:pkg/*file', requires('public'), async (ctx) => {
    const pkg = VENDOR_PACKAGES.get(ctx.params.pkg);
    if (pkg === undefined) throw new NotFoundError('vendored package', ctx.params.pkg, 'pkg');
    await sendStatic(ctx, wildcard(ctx.params.file), {
      root: path.join(repoRoot, 'node_modules', pkg),
      index: false,
      maxage: VENDOR_MAX_AGE_MS,
    });
  });

  return router;
}
