-- Console sessions (fix round): the cookie `kiln_session` holds an opaque session id (256 random bits, base64url),
-- never a key. Only sha256 of the id is stored, as for key secrets: a leaked table opens no session. Signing out
-- deletes the row; a row past expires_at is refused and later swept by its tenant's next sign-in.
CREATE TABLE sessions (
  id_sha256   bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
  tenant_id   text NOT NULL REFERENCES tenants (id),
  -- Who the session acts for: an API key (its role and state read from api_keys on every request, so revoking the
  -- key ends the session), or an SSO subject `<issuer>|<sub>` whose membership (role, or removal) is read from
  -- tenant_members on every request; `role` records the one it signed in with.
  kind        text NOT NULL CHECK (kind IN ('key', 'sso')),
  key_id      text REFERENCES api_keys (key_id) ON DELETE CASCADE,
  subject     text,
  role        text CHECK (role IN ('viewer', 'operator', 'editor', 'approver', 'admin')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  CHECK (
    (kind = 'key' AND key_id IS NOT NULL AND subject IS NULL AND role IS NULL)
    OR (kind = 'sso' AND key_id IS NULL AND subject IS NOT NULL AND role IS NOT NULL)
  )
);
CREATE INDEX sessions_tenant_expiry ON sessions (tenant_id, expires_at);
CREATE INDEX sessions_key ON sessions (key_id) WHERE key_id IS NOT NULL;
