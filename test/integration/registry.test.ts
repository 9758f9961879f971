import { expect } from 'chai';
import { DEFAULT_TENANT } from '../../common/tenant';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { NewModelVersion, registerModelVersion } from '../../db/registry';
import { getTestStack, TestStack } from '../support/test-stack';

describe('model registry writes are idempotent', function () {
  let stack: TestStack;
  let base: Omit<NewModelVersion, 'modelName' | 'sourceWorkflowId'>;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const { dataset } = await createDataset(stack.pool, {
      tenantId: DEFAULT_TENANT,
      name: 'registry-test',
      sourceFormat: 'json',
      table: { columns: [{ name: 'x', type: 'number' }], rows: 2, values: new Float64Array([1, 2]) },
    });
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'application/json',
      content: Buffer.from('{"c":[1]}'),
    });
    base = {
      tenantId: DEFAULT_TENANT,
      flavor: 'kmeans',
      params: { k: 1 },
      metrics: { inertia: 0.5 },
      artifactId: artifact.id,
      datasetId: dataset.id,
      datasetSha256: dataset.sha256,
      sourceRunId: 'run-1',
      backend: 'cpu',
      actor: 'test',
    };
  });

  const countVersions = async (name: string) =>
    (
      await stack.pool.query(
        'SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1',
        [name],
      )
    ).rows[0].n;

  it('a retried registration from the same workflow returns the first version', async () => {
    const first = await registerModelVersion(stack.pool, { ...base, modelName: 'idem', sourceWorkflowId: 'wf-a' });
    const retry = await registerModelVersion(stack.pool, { ...base, modelName: 'idem', sourceWorkflowId: 'wf-a' });
    expect(first.created).to.equal(true);
    expect(retry.created).to.equal(false);
    expect(retry.version.id).to.equal(first.version.id);
    expect(await countVersions('idem')).to.equal(1);
  });

  it('concurrent registrations from different workflows get consecutive versions; duplicates collapse', async () => {
    const results = await Promise.all(
      ['wf-1', 'wf-2', 'wf-3', 'wf-1', 'wf-2', 'wf-3'].map((wf) =>
        registerModelVersion(stack.pool, { ...base, modelName: 'race', sourceWorkflowId: wf }),
      ),
    );
    expect(await countVersions('race')).to.equal(3);
    const byWorkflow = new Map(results.map((r) => [r.version.sourceWorkflowId, r.version.version]));
    expect([...byWorkflow.values()].sort()).to.deep.equal([1, 2, 3]);
    for (const r of results) expect(r.version.version).to.equal(byWorkflow.get(r.version.sourceWorkflowId));
  });

  it('the same artifact bytes stored twice are one row', async () => {
    const content = Buffer.from('same bytes');
    const a = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'text/plain',
      content,
    });
    const b = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'text/plain',
      content,
    });
    expect(b.id).to.equal(a.id);
    expect(b.created).to.equal(false);
  });
});
