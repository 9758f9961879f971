-- Named dataset series: every upload given a name becomes the newest version of that name, numbered 1, 2, 3... per
-- (tenant, name). Datasets stay content addressed (one row per sha256); a version points at one, so the same content
-- uploaded under two names (or again later under one name) is one dataset with several versions. A job may name a
-- version instead of a dataset id: `latest` (as of its scheduled time), a number, or the version current at a time.

CREATE TABLE dataset_versions (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  name        text NOT NULL,
  version     integer NOT NULL CHECK (version > 0),
  dataset_id  uuid NOT NULL REFERENCES datasets (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version)
);
-- "The version current at time t": the newest row of the name created at or before t.
CREATE INDEX dataset_versions_as_of ON dataset_versions (tenant_id, name, created_at DESC, version DESC);

-- Datasets uploaded before series existed become the versions of their names, oldest first. Names Kiln generated
-- itself (unnamed uploads, inline clustering data, a pipeline's split parts) are no series.
INSERT INTO dataset_versions (tenant_id, name, version, dataset_id, created_at)
SELECT tenant_id, name, row_number() OVER (PARTITION BY tenant_id, name ORDER BY created_at, id), id, created_at
FROM datasets
WHERE name !~ '^(dataset|inline)-[0-9]{4}-[0-9]{2}-[0-9]{2}T'
  AND name !~ ': (training part|holdout)$';
