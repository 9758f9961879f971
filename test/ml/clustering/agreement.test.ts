import { expect } from 'chai';
import { adjustedRandIndex, samePartition } from '../../../ml/clustering/agreement';

describe('ml/clustering/agreement', () => {
  describe('adjustedRandIndex', () => {
    // Reference values from scikit-learn's adjusted_rand_score documentation and by hand from the contingency table.
    it('is 1 for identical partitions, whatever the ids', () => {
      expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1])).to.equal(1);
      expect(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])).to.equal(1);
      expect(adjustedRandIndex([0, 0, 1, 2, 2], [7, 7, -3, 4, 4])).to.equal(1);
    });

    it('matches known values for partial agreement', () => {
      expect(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1])).to.be.closeTo(4 / 7, 1e-12);
      expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).to.be.closeTo(-0.5, 1e-12);
      expect(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3])).to.equal(0);
    });

    it('is symmetric', () => {
      const a = [0, 1, 1, 2, 2, 2, 0, 1];
      const b = [1, 1, 0, 2, 2, 0, 0, 1];
      expect(adjustedRandIndex(a, b)).to.be.closeTo(adjustedRandIndex(b, a), 1e-12);
      expect(adjustedRandIndex(a, b)).to.be.below(1);
    });

    it('treats degenerate partitions as agreeing', () => {
      expect(adjustedRandIndex([3, 3, 3], [1, 1, 1])).to.equal(1);
      expect(adjustedRandIndex([0, 1, 2], [2, 0, 1])).to.equal(1);
      expect(adjustedRandIndex([], [])).to.equal(1);
    });

    it('accepts typed arrays and rejects different lengths', () => {
      expect(adjustedRandIndex(Int32Array.from([0, 1, 1]), [5, 6, 6])).to.equal(1);
      expect(() => adjustedRandIndex([0, 1], [0])).to.throw(RangeError, /length/);
    });
  });

  describe('samePartition', () => {
    it('accepts a relabelling and rejects merges and splits', () => {
      expect(samePartition([0, 0, 1, 2], [2, 2, 0, 1])).to.equal(true);
      expect(samePartition([0, 0, 1, 2], [0, 0, 1, 1])).to.equal(false); // merge
      expect(samePartition([0, 0, 1, 1], [0, 0, 1, 2])).to.equal(false); // split
      expect(samePartition([0, 1], [0, 1, 1])).to.equal(false);
    });
  });
});
