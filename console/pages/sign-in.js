// The sign-in form: an API key (or an SSO token where SSO is configured) opens a server-side session, whose opaque id
// becomes the browser's session cookie.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorNote } from '../lib/format.js';
import { signIn } from '../lib/session.js';

/**
 * Shown while the browser has no session. The field takes the focus (and keeps it after a refused key, selected, to
 * type over); Enter submits. `ended` says why a session that was open is gone.
 * @param {{ onSignedIn: (who: import('../lib/session.js').Whoami) => void, ended?: boolean }} props
 */
export function SignInPage({ onSignedIn, ended }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const field = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => field.current?.focus(), []);
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const key = form.elements.namedItem('apiKey').value.trim();
    setBusy(true);
    setError(undefined);
    try {
      const who = await signIn(key);
      form.reset();
      onSignedIn(who);
    } catch (err) {
      setError(err);
      setBusy(false);
      field.current?.focus();
      field.current?.select();
    }
  };
  return html`<section class="sign-in">
    <h1>Sign in</h1>
    ${ended ? html`<p role="status">Your session ended (signed out, expired or revoked). Sign in again.</p>` : null}
    <form class="card form" id="sign-in-form" onSubmit=${submit}>
      <label
        >API key or SSO token
        <input
          type="password"
          name="apiKey"
          required
          autocomplete="off"
          spellcheck="false"
          aria-describedby="sign-in-help"
          ref=${field}
        />
      </label>
      <p class="muted" id="sign-in-help">
        A Kiln API key (<code>kiln_…</code>), such as the bootstrap key, or a token from your identity provider where
        the API trusts one. It opens a session for 12 hours (an SSO token's own expiry at the latest); signing out or
        revoking the key ends it. The browser keeps only the session's id, in a cookie its scripts cannot read; the
        console shows what the key's tenant and role may see.
      </p>
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      <${ErrorNote} error=${error} />
    </form>
  </section>`;
}
