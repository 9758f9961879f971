// The signed-in caller: who the session cookie says it is (GET /api/v1/whoami), and signing in and out
// (POST / DELETE /api/v1/session). Pages read what the caller may do with useCan() to hide what the API would refuse.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api } from './api.js';

/**
 * @typedef {{ start: boolean, edit: boolean, approve: boolean, admin: boolean }} Can
 * @typedef {{ id: string, tenantId: string, role: string, platformAdmin: boolean, keyId?: string, subject?: string,
 *   can: Can }} Whoami
 */

/** Nothing allowed: what pages assume outside a session (they are not shown then anyway). */
const NOTHING = Object.freeze({ start: false, edit: false, approve: false, admin: false });

/** The signed-in caller (Whoami), provided by the app around its pages. */
export const SessionContext = createContext(/** @type {Whoami | null} */ (null));

/**
 * What the caller's role allows: `start` jobs and pipelines (operator), `edit` datasets, models, aliases and schedules
 * (editor), `approve` pipeline decisions (approver), `admin`. The API decides in the end; this only hides controls.
 * @returns {Can}
 */
export function useCan() {
  return useContext(SessionContext)?.can ?? NOTHING;
}

/**
 * The caller the session cookie names; an ApiError with status 401 when there is no session.
 * @returns {Promise<Whoami>}
 */
export function whoami() {
  return api('/api/v1/whoami');
}

/**
 * Signs the browser in: the API checks the key (or SSO token), opens a server-side session and sets an HttpOnly cookie
 * to the session's opaque id (never the key); answers the caller.
 * An ApiError (401 `invalid_credentials`, `key_revoked`, `key_expired`) when the API refuses it.
 * @param {string} apiKey
 * @returns {Promise<Whoami>}
 */
export function signIn(apiKey) {
  return api('/api/v1/session', { method: 'POST', body: { apiKey } });
}

/** Signs the browser out: the API deletes the session (a copy of the cookie opens nothing any more) and clears it. */
export async function signOut() {
  await api('/api/v1/session', { method: 'DELETE' });
}
