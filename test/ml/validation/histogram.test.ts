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

  it('keeps every edge finite and ascending, and the largest value in the last bin, across the whole double range', () => {
    // The summary's 20 bins over a column of 1e308, -1e308, 1e308: i × step passed the largest double from bin 18.
    const h = histogramSorted([-1e308, 1e308, 1e308], 20);
    expect(h.edges).to.have.length(21);
    expect(h.edges.every(Number.isFinite), JSON.stringify(h.edges)).to.equal(true);
    expect(h.edges.slice(1).every((e, i) => e > h.edges[i])).to.equal(true);
    expect(h.edges[0]).to.equal(-1e308);
    expect(h.edges[20]).to.equal(1e308);
    expect(h.edges[10]).to.equal(0);
    expect(h.counts[0]).to.equal(1);
    expect(h.counts[19]).to.equal(2);
    expect(h.counts.reduce((a, b) => a + b, 0)).to.equal(3);
  });
});
