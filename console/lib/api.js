// The one place the console talks to the API. Every request goes through apiFetch. The caller's identity is the
// HttpOnly session cookie POST /api/v1/session sets (lib/session.js): the browser sends it with every same-origin
// request and stream, so no script here ever holds the key (nor the session's id); a 401 anywhere tells the app
// (onUnauthorized) to sign in.

/** An error answer of the API: `{ error: { code, message, field? } }` with its HTTP status. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, message?: string, field?: string }} error
   */
  constructor(status, error) {
    super(error.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error.code ?? 'http_error';
    this.field = error.field;
  }
}

/**
 * Headers every request carries for its caller's identity: none. The identity is the `kiln_session` cookie, HttpOnly
 * (out of reach of scripts, an injected one included) and sent by the browser itself; an Authorization header here
 * would need the key in page memory or storage.
 * @returns {Record<string, string>}
 */
export function authHeaders() {
  return {};
}

/** @type {(error: ApiError) => void} */
let unauthorizedListener = () => {};

/**
 * Who hears of a 401 from any request (the session expired, was revoked or signed out elsewhere): the app, which shows
 * the sign-in form. One listener; a later call replaces it.
 * @param {(error: ApiError) => void} listener
 */
export function onUnauthorized(listener) {
  unauthorizedListener = listener;
}

/**
 * fetch against the API with the caller's identity; answers the Response (EventSource streams use eventSourceUrl).
 * @param {string} path  an absolute path such as /api/v1/jobs
 * @param {RequestInit} [init]
 */
export function apiFetch(path, init = {}) {
  return fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers ?? {}) } });
}

/**
 * A JSON request: the parsed body of a 2xx answer, else an ApiError carrying the API's code and message.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, raw?: BodyInit, contentType?: string, signal?: AbortSignal }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  const { method = 'GET', body, raw, contentType, signal } = options;
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  let payload = raw;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  if (contentType) headers['content-type'] = contentType;
  const res = await apiFetch(path, { method, headers, body: payload, signal });
  if (res.status === 204) return undefined;
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { error: { message: text.slice(0, 200) } };
  }
  if (!res.ok) {
    const error = new ApiError(res.status, parsed?.error ?? {});
    if (res.status === 401) unauthorizedListener(error);
    throw error;
  }
  return parsed;
}

/**
 * The URL an EventSource opens for a path: the path itself. EventSource cannot send headers, but it sends the session
 * cookie like any same-origin request, so the stream is authenticated as the page is (no token in the URL, where
 * logs and history would keep it).
 * @param {string} path
 */
export function eventSourceUrl(path) {
  return path;
}
