-- Validation pipelines (workflows/pipelines.ts): the data-validation report of a pipeline run and the evaluation of
-- its candidate against the alias holder on one holdout, with the gate's verdict. Both are keyed by the pipeline's
-- workflow id, so a retried activity rewrites its own row instead of adding one; workflows carry only these ids and
-- a few counts.

CREATE TABLE validation_reports (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id             text NOT NULL REFERENCES tenants (id),
  pipeline_id           text NOT NULL,
  dataset_id            uuid NOT NULL REFERENCES datasets (id),
  reference_dataset_id  uuid REFERENCES datasets (id),
  holdout_dataset_id    uuid REFERENCES datasets (id),
  report                jsonb NOT NULL,
  checks_total          integer NOT NULL CHECK (checks_total >= 0),
  checks_failed         integer NOT NULL CHECK (checks_failed >= 0),
  errors                integer NOT NULL CHECK (errors >= 0),
  warnings              integer NOT NULL CHECK (warnings >= 0),
  passed                boolean NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, pipeline_id)
);
CREATE INDEX validation_reports_dataset ON validation_reports (tenant_id, dataset_id);

CREATE TABLE model_evaluations (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id            text NOT NULL REFERENCES tenants (id),
  pipeline_id          text NOT NULL,
  model_name           text NOT NULL,
  task                 text NOT NULL,
  holdout_dataset_id   uuid NOT NULL REFERENCES datasets (id),
  holdout_rows         integer NOT NULL CHECK (holdout_rows > 0),
  -- How the holdout was chosen: {"datasetId"} or {"fraction", "seed", "sourceDatasetId"}.
  holdout              jsonb NOT NULL,
  candidate_artifact_id uuid NOT NULL REFERENCES artifacts (id),
  -- The version the alias pointed at when the candidate was evaluated (null: no champion).
  champion_alias       text NOT NULL,
  champion_version_id  uuid REFERENCES model_versions (id) ON DELETE SET NULL,
  champion_version     integer,
  -- metric name → value, for each side ({} for champion when there is none).
  candidate_metrics    jsonb NOT NULL,
  champion_metrics     jsonb,
  -- Everything else the evaluation found (confusion matrices, classes), by side.
  details              jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The gate's verdict ({passed, results: [...]}), written by the gate stage.
  gate                 jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, pipeline_id)
);
