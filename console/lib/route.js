// Hash routing: the server serves the console at / only, and `/#/jobs/<id>` is the console's own route, so no console
// path can ever shadow one of the API's.
import { useEffect, useState } from 'preact/hooks';

/**
 * Whether a URL hash is a console route (`#/jobs`, or no hash: the default page) rather than an in-page fragment such
 * as `#main`, the skip link's target, which names an element and must not turn into a "Not found" page.
 * @param {string} hash  as location.hash gives it, with its `#`
 */
export function isRouteHash(hash) {
  return hash === '' || hash === '#' || hash.startsWith('#/');
}

/**
 * The current hash route: `#/jobs/abc?kind=training` → { path: ['jobs', 'abc'], query: URLSearchParams }. An
 * in-page fragment (`#main`) is not a route: the page stays on `previous` (the default page on a first load).
 * @param {{ path: string[], query: URLSearchParams }} [previous]
 * @returns {{ path: string[], query: URLSearchParams }}
 */
export function currentRoute(previous) {
  if (!isRouteHash(window.location.hash)) return previous ?? { path: [], query: new URLSearchParams() };
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = hash.split('?');
  const path = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, query: new URLSearchParams(queryPart) };
}

/** The current route, re-rendering on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(() => currentRoute());
  useEffect(() => {
    const onChange = () => setRoute((previous) => currentRoute(previous));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/**
 * A console link: `href('jobs', id)` → `#/jobs/<id>`; a last argument that is an object becomes the query.
 * @param {...(string | number | Record<string, string | undefined>)} parts
 */
export function href(...parts) {
  const last = parts[parts.length - 1];
  const query = typeof last === 'object' ? /** @type {Record<string, string | undefined>} */ (parts.pop()) : undefined;
  const path = parts.map((p) => encodeURIComponent(String(p))).join('/');
  const search = query
    ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')).toString()
    : '';
  return `#/${path}${search ? `?${search}` : ''}`;
}

/** Goes to a console route (a hash change: no reload). */
export function navigate(to) {
  window.location.hash = to.replace(/^#/, '');
}
