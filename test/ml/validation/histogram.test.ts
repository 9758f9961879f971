import { expect } from 'chai';
import { histogramSorted } from '../../../ml/validation/histogram';

describe('histogramSorted (dataset summaries)', () => {
  it('bins equal widths over [min, max], the last bin closed, as numpy.histogram', () => {
    // numpy.histogram([0, 1, 1, 2, 3, 4], bins=4) → counts [1, 2, 1, 2], edges [0, 1, 2, 3, 4]
    expect(histogramSorted([0, 1, 1, 2, 3, 4], 4)).to.deep.equal({ edges: [0, 1, 2, 3, 4], counts: [1, 2, 1, 2] });
  });

  it('one bin for a constant column, none for an empty one; the counts add up', () => {
    expect(histogramSorted([5, 5, 5], 10)).to.deep.equal({ edges: [5, 5], counts: [3] });
    expect(histogramSorted([], 10)).to.deep.equal({ edges: [], counts: [] });
    const values = Array.from({ length: 1000 }, (_, i) => Math.sqrt(i));
    const h = histogramSorted(values, 20);
    expect(h.counts.reduce((a, b) => a + b, 0)).to.equal(1000);
    expect(h.edges).to.have.length(21);
  });

  it('does not overflow near the largest doubles', () => {
    const h = histogramSorted([-1.5e308, 0, 1.5e308], 2);
    expect(h.counts).to.deep.equal([1, 2]);
    expect(h.edges.every(Number.isFinite)).to.equal(true);
  });
});
