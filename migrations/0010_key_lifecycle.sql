-- Key lifecycle (issue 12, fix round): rotating keys and disabling tenants.

-- A rotated key names the key that replaced it. Its revoked_at may lie in the future: the end of the rotation's grace
-- period, until which the old key still works (api/auth/gate.ts compares revoked_at with the clock).
ALTER TABLE api_keys ADD COLUMN replaced_by text REFERENCES api_keys (key_id);

-- A disabled tenant's keys, console sessions and SSO members are refused (403 tenant_disabled) until a platform admin
-- enables it again; NULL: enabled. Its data and running jobs stay as they are.
ALTER TABLE tenants ADD COLUMN disabled_at timestamptz;
