import type { Context } from 'koa';

/**
 * Marks an answer that carries a secret (a new API key) as never to be stored by any cache, browser or proxy:
 * `Cache-Control: no-store`, and `Pragma: no-cache` for HTTP/1.0 caches that ignore Cache-Control.
 */
export function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}
