-- Kiln schema v1: datasets, content-addressed artifacts, the model registry (models, versions, aliases) and an audit
-- trail. Every row carries a tenant; until auth exists there is one, 'default'.

CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tenants (id, name) VALUES ('default', 'Default tenant');

-- Large bytes (dataset tables, clustering results, weights, checkpoints) live here and travel through workflows by id.
-- Content addressed: the same bytes stored twice by a tenant are one row.
CREATE TABLE artifacts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   text NOT NULL REFERENCES tenants (id),
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  kind        text NOT NULL,
  media_type  text NOT NULL,
  size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
  content     bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sha256)
);
-- Float payloads do not compress: skip TOAST's compression attempt, keep out-of-line storage.
ALTER TABLE artifacts ALTER COLUMN content SET STORAGE EXTERNAL;

CREATE TABLE datasets (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     text NOT NULL REFERENCES tenants (id),
  name          text NOT NULL,
  sha256        text NOT NULL,
  row_count     integer NOT NULL CHECK (row_count > 0),
  column_count  integer NOT NULL CHECK (column_count > 0),
  columns       jsonb NOT NULL,
  source_format text NOT NULL,
  artifact_id   uuid NOT NULL REFERENCES artifacts (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sha256)
);

CREATE TABLE models (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    text NOT NULL REFERENCES tenants (id),
  name         text NOT NULL,
  description  text,
  tags         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name)
);

CREATE TABLE model_versions (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id           text NOT NULL REFERENCES tenants (id),
  model_id            uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  version             integer NOT NULL CHECK (version > 0),
  status              text NOT NULL DEFAULT 'READY' CHECK (status IN ('READY', 'FAILED_VALIDATION', 'ARCHIVED')),
  flavor              text NOT NULL,
  description         text,
  tags                jsonb NOT NULL DEFAULT '{}'::jsonb,
  params              jsonb NOT NULL DEFAULT '{}'::jsonb,
  metrics             jsonb NOT NULL DEFAULT '{}'::jsonb,
  artifact_id         uuid REFERENCES artifacts (id),
  dataset_id          uuid REFERENCES datasets (id),
  dataset_sha256      text,
  source_workflow_id  text NOT NULL,
  source_run_id       text,
  backend             text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model_id, version),
  -- A workflow registers at most one version of a model, however often its activity is retried.
  UNIQUE (model_id, source_workflow_id)
);

CREATE TABLE model_aliases (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  model_id    uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  alias       text NOT NULL,
  version_id  uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias)
);

CREATE TABLE audit_events (
  id           bigserial PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id),
  entity_type  text NOT NULL,
  entity_id    text NOT NULL,
  action       text NOT NULL,
  actor        text NOT NULL,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_entity ON audit_events (tenant_id, entity_type, entity_id, id);
