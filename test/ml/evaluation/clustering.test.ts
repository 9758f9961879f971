import { expect } from 'chai';
import { initComputeBackend } from '../../../ml/backend';
import { evaluateClusteringModel } from '../../../ml/evaluation/clustering';
import { EvaluationError } from '../../../ml/evaluation/evaluate';
import { Table } from '../../../datasets/table';
import { expectRejects } from '../../support/expect-rejects';
import { makeBlobs } from '../../support/blobs';

/** Three tight blobs in (x, y) and a text column, as a holdout table. */
function holdoutTable(): Table {
  const blobs = makeBlobs(
    20,
    [
      [0, 0],
      [6, 6],
      [-6, 6],
    ],
    0.5,
    5,
  );
  const values: number[] = [];
  blobs.points.forEach(([x, y], i) => values.push(x, y, blobs.labels[i]));
  return {
    columns: [
      { name: 'x', type: 'number' },
      { name: 'y', type: 'number' },
      { name: 'label', type: 'string', levels: ['a', 'b', 'c'] },
    ],
    rows: blobs.points.length,
    values: Float64Array.from(values),
  };
}

const artifact = (model: Record<string, unknown>) => Buffer.from(JSON.stringify(model));
const kmeans = (centroids: number[][], columns = ['x', 'y']) => artifact({ flavor: 'kmeans', columns, centroids });

describe('ml/evaluation/clustering: a clustering model on a holdout', function () {
  before(async () => {
    await initComputeBackend();
  });

  it("scores the model's labelling of the holdout: the true centres beat two merged ones on every metric", async () => {
    const table = holdoutTable();
    const good = await evaluateClusteringModel(
      kmeans([
        [0, 0],
        [6, 6],
        [-6, 6],
      ]),
      table,
      'candidate',
    );
    const merged = await evaluateClusteringModel(
      kmeans([
        [0, 0],
        [0, 6],
      ]),
      table,
      'champion',
    );
    expect(Object.keys(good.metrics)).to.have.members(['silhouette', 'daviesBouldin', 'calinskiHarabasz', 'inertia']);
    expect(good).to.deep.include({ task: 'clustering', rows: 60 });
    expect(good.details.clusters).to.equal(3);
    expect(Object.values(good.details.clusterSizes)).to.deep.equal([20, 20, 20]);
    expect(good.metrics.silhouette).to.be.greaterThan(0.8).and.greaterThan(merged.metrics.silhouette);
    expect(good.metrics.daviesBouldin).to.be.lessThan(merged.metrics.daviesBouldin);
    expect(good.metrics.calinskiHarabasz).to.be.greaterThan(merged.metrics.calinskiHarabasz);
    expect(good.metrics.inertia).to.be.lessThan(merged.metrics.inertia);
  });

  it('assigns with SOM codebooks and mixtures too; one cluster on the holdout leaves the undefined metrics out', async () => {
    const table = holdoutTable();
    const som = await evaluateClusteringModel(
      artifact({
        flavor: 'som',
        columns: ['x', 'y'],
        rows: 1,
        cols: 3,
        codebook: [
          [
            [0, 0],
            [6, 6],
            [-6, 6],
          ],
        ],
      }),
      table,
      'candidate',
    );
    expect(som.details.clusters).to.equal(3);
    const one = await evaluateClusteringModel(kmeans([[0, 3]]), table, 'candidate');
    expect(Object.keys(one.metrics)).to.deep.equal(['inertia']);
  });

  it('refuses models that cannot assign rows, other columns than the candidate, and missing or text columns', async () => {
    const table = holdoutTable();
    const refused = (model: Buffer, expected: RegExp, columns?: string[]) =>
      expectRejects(evaluateClusteringModel(model, table, 'champion', columns ? { columns } : {}), (err) => {
        expect(err).to.be.instanceOf(EvaluationError);
        expect((err as Error).message).to.match(expected);
      });
    await refused(artifact({ flavor: 'dbscan', columns: ['x', 'y'] }), /dbscan model, which cannot assign new rows/);
    await refused(kmeans([[0, 0]], ['y', 'x']), /fitted on columns \["y","x"\]; the candidate on \["x","y"\]/, [
      'x',
      'y',
    ]);
    await refused(kmeans([[0]], ['z']), /holdout column "z" does not exist/);
    await refused(kmeans([[0]], ['label']), /string \(categorical\) column/);
    await refused(Buffer.from('not json'), /not a clustering model/);
  });
});
