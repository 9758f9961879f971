import { expect } from 'chai';
import { MIN_POINTS_PER_CLUSTER, seedFromString, stratifiedSample } from '../../api/services/projection-sample';

/** How many of `rows` carry each label. */
function countLabels(labels: number[], rows: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of rows) counts.set(labels[r], (counts.get(labels[r]) ?? 0) + 1);
  return counts;
}

describe('projection sample: seeded, stratified by cluster', () => {
  it('keeps every row up to the limit', () => {
    expect(stratifiedSample([0, 1, 1, 0], 4, 1)).to.deep.equal([0, 1, 2, 3]);
  });

  it('shows every cluster of rows that cycle through them, each in proportion (an every-6th-row sample shows two)', () => {
    const labels = Array.from({ length: 30_000 }, (_, i) => i % 4);
    const rows = stratifiedSample(labels, 5_000, seedFromString('clustering-a'));
    expect(rows).to.have.length(5_000);
    expect(new Set(rows).size).to.equal(5_000);
    expect(rows).to.deep.equal([...rows].sort((a, b) => a - b));
    expect([...countLabels(labels, rows).entries()].sort()).to.deep.equal([
      [0, 1250],
      [1, 1250],
      [2, 1250],
      [3, 1250],
    ]);
    // Not a stride: the sampled rows are spread unevenly over the data.
    const gaps = new Set(rows.slice(1).map((r, i) => r - rows[i]));
    expect(gaps.size).to.be.greaterThan(5);
  });

  it('is the same for the same seed and differs for another', () => {
    const labels = Array.from({ length: 1_000 }, (_, i) => (i * 7) % 5);
    const a = stratifiedSample(labels, 100, seedFromString('job-1'));
    expect(stratifiedSample(labels, 100, seedFromString('job-1'))).to.deep.equal(a);
    expect(stratifiedSample(labels, 100, seedFromString('job-2'))).to.not.deep.equal(a);
  });

  it('keeps a few points of a small cluster, noise included, and the rest in proportion', () => {
    // 9,000 rows of cluster 0, 990 of cluster 1, 8 of cluster 2, 2 noise points.
    const labels = [
      ...new Array<number>(9_000).fill(0),
      ...new Array<number>(990).fill(1),
      ...new Array<number>(8).fill(2),
      ...new Array<number>(2).fill(-1),
    ];
    const rows = stratifiedSample(labels, 500, 3);
    expect(rows).to.have.length(500);
    const counts = countLabels(labels, rows);
    expect(counts.get(-1)).to.equal(2);
    expect(counts.get(2)).to.equal(MIN_POINTS_PER_CLUSTER);
    // The other 483 points: 8,995 / 9,983 and 985 / 9,983 of them, rounded by largest remainder, past the floor of 5.
    expect(counts.get(0)).to.equal(5 + 435);
    expect(counts.get(1)).to.equal(5 + 48);
  });

  it('fits the limit when there are more clusters than floors allow', () => {
    const labels = Array.from({ length: 3_000 }, (_, i) => i % 300);
    const rows = stratifiedSample(labels, 600, 9);
    expect(rows).to.have.length(600);
    expect(countLabels(labels, rows).size).to.equal(300);
    expect(stratifiedSample(labels, 100, 9)).to.have.length(100);
    expect(() => stratifiedSample(labels, 0, 9)).to.throw(RangeError);
  });
});
