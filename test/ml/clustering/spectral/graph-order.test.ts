import { expect } from 'chai';
import {
  NormalizedGraphOperator,
  nearestNeighbors,
  symmetricGraph,
} from '../../../../ml/clustering/spectral/knn-graph';
import { localityOrder, permuteGraph } from '../../../../ml/clustering/spectral/graph-order';
import { permuteRows, unpermuteRows } from '../../../../ml/clustering/spectral/row-order';
import { Random } from '../../../../ml/random';

async function graphOf(n: number, seed: number) {
  const rng = new Random(seed);
  // Three blobs and a far pair: several components, points in random order.
  const coords = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = i < n - 2 ? rng.nextInt(3) * 8 : 100;
    coords[i * 2] = c + rng.nextGaussian();
    coords[i * 2 + 1] = rng.nextGaussian();
  }
  return symmetricGraph(await nearestNeighbors(coords, n, 2, 6, async () => {}), n);
}

describe('ml/clustering/spectral/graph-order', () => {
  it('orders every point once, neighbours close together', async () => {
    const graph = await graphOf(3_000, 1);
    const order = localityOrder(graph);
    expect(Array.from(order).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 3_000 }, (_, i) => i));
    const rank = new Int32Array(3_000);
    order.forEach((p, q) => (rank[p] = q));
    // Mean |rank distance| between neighbours: a small fraction of n in breadth-first order, ~n/3 in input order.
    let spreadBefore = 0;
    let spreadAfter = 0;
    for (let i = 0; i < graph.n; i++) {
      for (let e = graph.rowStart[i]; e < graph.rowStart[i + 1]; e++) {
        spreadBefore += Math.abs(i - graph.cols[e]);
        spreadAfter += Math.abs(rank[i] - rank[graph.cols[e]]);
      }
    }
    expect(spreadAfter).to.be.below(spreadBefore / 5);
  });

  it('gives the same operator, products bit-identical up to the renumbering', async () => {
    const graph = await graphOf(2_000, 2);
    const order = localityOrder(graph);
    const permuted = permuteGraph(graph, order);
    expect(permuted.components).to.equal(graph.components);
    const b = 12;
    const rng = new Random(3);
    const x = Float64Array.from({ length: graph.n * b }, () => rng.nextGaussian());
    const z = Float64Array.from({ length: graph.n * b }, () => rng.nextGaussian());
    const plain = new NormalizedGraphOperator(graph);
    const renumbered = new NormalizedGraphOperator(permuted);
    const direct = await plain.applyCombined(x, b, 2, -1, 0.5, z);
    const viaPermuted = unpermuteRows(
      await renumbered.applyCombined(permuteRows(x, order, b), b, 2, -1, 0.5, permuteRows(z, order, b)),
      order,
      b,
    );
    expect(Array.from(viaPermuted)).to.deep.equal(Array.from(direct));
    expect(Array.from(unpermuteRows(permuteRows(x, order, b), order, b))).to.deep.equal(Array.from(x));
  });
});
