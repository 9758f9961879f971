// The one place the console talks to the API. Every request goes through apiFetch, so that authentication (issue 12:
// an API key or SSO token) is one change here: authHeaders() returns the Authorization header once a key exists.

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
 * Headers every request carries for its caller's identity. Empty until the API has authentication: then the key the
 * console asks for (kept in sessionStorage) becomes `Authorization: Bearer <key>` here, and nothing else changes.
 * @returns {Record<string, string>}
 */
export function authHeaders() {
  return {};
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
  if (!res.ok) throw new ApiError(res.status, parsed?.error ?? {});
  return parsed;
}

/**
 * The URL an EventSource opens for a path. EventSource cannot send headers: with authentication this adds the token
 * the API accepts for streams (or the stream moves to a cookie); today it is the path itself.
 * @param {string} path
 */
export function eventSourceUrl(path) {
  return path;
}
