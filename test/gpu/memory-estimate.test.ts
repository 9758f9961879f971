import { expect } from 'chai';
import { CLUSTERING_ALGORITHMS } from '../../common/jobs';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from '../../ml/clustering/block-size';
import {
  DISTANCE_BLOCK_CELLS,
  RUNTIME_OVERHEAD_MB,
  estimateClusteringMemory,
  estimateClusteringMemoryMb,
  estimateTrainingMemoryMb,
  mlpParameterCount,
  spectralBlockSize,
} from '../../gpu/memory-estimate';

describe('GPU memory estimates', () => {
  it('uses the block size the clustering code uses', () => {
    expect(DISTANCE_BLOCK_CELLS).to.equal(MAX_DISTANCE_CELLS_PER_BLOCK);
  });

  it('matches hand-computed values', () => {
    // kmeans n=1000, d=10, k=4: (2·1000·11 + 1000)·4 = 92,000 B data, 4·2^22·4 = 64 MiB blocks, 2·4·11·4 = 352 B
    // centroids: 67,201,216 B → 65 MiB, + 256.
    expect(estimateClusteringMemoryMb('kmeans', { n: 1000, d: 10, params: { k: 4 } })).to.equal(321);
    // gmm full n=100,000, d=50, k=10: 41,200,000 B k-means data + 64 MiB + 2,000 B means + 100,000 B covariances
    // = 108,410,864 B → 104 MiB, + 256.
    expect(estimateClusteringMemoryMb('gmm', { n: 100_000, d: 50, params: { k: 10 } })).to.equal(360);
    // MLP 10 → 64 → 32 → 3: P = 704 + 2080 + 99 = 2883; 2883·16 + 100·99·8 + 1000·10·4 = 165,328 B → 1 MiB, + 256.
    expect(mlpParameterCount(10, [64, 32], 3)).to.equal(2883);
    expect(
      estimateTrainingMemoryMb({ rows: 1000, features: 10, classes: 3, layers: [64, 32], batchSize: 100 }),
    ).to.equal(257);
    // 1e6 × 100 → 1024 → 1024 → 10, batch 1024: P = 1,163,274; 18,612,384 + 1024·2058·8 + 4e8 = 435,471,520 B → 416 MiB.
    expect(
      estimateTrainingMemoryMb({
        rows: 1_000_000,
        features: 100,
        classes: 10,
        layers: [{ units: 1024 }, { units: 1024 }],
        batchSize: 1024,
      }),
    ).to.equal(672);
  });

  it('estimates every algorithm the API accepts, above the runtime overhead', () => {
    for (const algorithm of CLUSTERING_ALGORITHMS) {
      const mb = estimateClusteringMemoryMb(algorithm, { n: 50_000, d: 16, params: { k: 5, rows: 8, cols: 8 } });
      expect(mb, algorithm).to.be.greaterThan(RUNTIME_OVERHEAD_MB);
      expect(Number.isInteger(mb), algorithm).to.equal(true);
    }
    expect(estimateClusteringMemoryMb('minibatch', { n: 10, d: 2 })).to.equal(
      estimateClusteringMemoryMb('minibatch-kmeans', { n: 10, d: 2 }),
    );
  });

  it('grows with n, d and the algorithm state', () => {
    for (const algorithm of CLUSTERING_ALGORITHMS) {
      let previous = 0;
      for (const n of [1_000, 100_000, 1_000_000, 10_000_000]) {
        const mb = estimateClusteringMemoryMb(algorithm, { n, d: 32, params: { k: 8 } });
        expect(mb, `${algorithm} n=${n}`).to.be.at.least(previous);
        previous = mb;
      }
      expect(estimateClusteringMemoryMb(algorithm, { n: 1_000_000, d: 64 }), algorithm).to.be.greaterThan(
        estimateClusteringMemoryMb(algorithm, { n: 1_000_000, d: 8 }),
      );
    }
    const gmm = (k: number, covarianceType?: string) =>
      estimateClusteringMemory('gmm', { n: 1000, d: 256, params: { k, covarianceType } }).parts.covariances;
    expect(gmm(20)).to.be.greaterThan(gmm(10));
    expect(gmm(10, 'diag')).to.be.lessThan(gmm(10));
    const som = (rows: number) =>
      estimateClusteringMemory('som', { n: 1000, d: 64, params: { rows, cols: 10 } }).parts.codebook;
    expect(som(20)).to.equal(2 * som(10));
    expect(spectralBlockSize(1_000_000, 8)).to.equal(12);
    expect(spectralBlockSize(10, 8)).to.equal(10);
    expect(estimateClusteringMemoryMb('spectral', { n: 1_000_000, d: 8, params: { k: 40 } })).to.be.greaterThan(
      estimateClusteringMemoryMb('spectral', { n: 1_000_000, d: 8, params: { k: 8 } }),
    );
    let previous = 0;
    for (const batchSize of [32, 256, 2048, 16384]) {
      const mb = estimateTrainingMemoryMb({
        rows: 100_000,
        features: 50,
        classes: 10,
        layers: [4096, 4096],
        batchSize,
      });
      expect(mb).to.be.at.least(previous);
      previous = mb;
    }
    expect(
      estimateTrainingMemoryMb({ rows: 1000, features: 50, classes: 2, layers: [4096, 4096, 4096], batchSize: 64 }),
    ).to.be.greaterThan(
      estimateTrainingMemoryMb({ rows: 1000, features: 50, classes: 2, layers: [4096], batchSize: 64 }),
    );
  });

  it('rejects sizes that are not positive integers', () => {
    expect(() => estimateClusteringMemoryMb('kmeans', { n: 0, d: 2 })).to.throw(
      RangeError,
      /n must be a positive integer/,
    );
    expect(() => estimateClusteringMemoryMb('kmeans', { n: 10, d: 2, params: { k: 1.5 } })).to.throw(
      RangeError,
      /params\.k/,
    );
    expect(() => estimateTrainingMemoryMb({ rows: 10, features: 2, classes: 2, layers: [0], batchSize: 4 })).to.throw(
      RangeError,
      /layers\[0\]\.units/,
    );
    expect(() => estimateClusteringMemoryMb('nope' as never, { n: 10, d: 2 })).to.throw(
      RangeError,
      /no memory estimate/,
    );
  });
});
