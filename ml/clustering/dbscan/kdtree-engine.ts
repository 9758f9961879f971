import { ClusteringHooks } from '../types';
import { KdTree, buildKdTree, candidateLeaves, pointToLeafBox2 } from './kdtree';
import { NeighbourEngine, Pacer } from './neighbour-engine';
import { UnionFind } from './union-find';

/** Points per kd-tree leaf: small leaves prune best in 2-d, large ones waste less on unprunable pairs at d ≈ 16 (measured). */
const leafSize = (d: number): number => Math.min(256, Math.max(16, 8 * d));

/**
 * DBSCAN's 'kd-tree' neighbour search (see dbscan.ts). Host kd-tree (kdtree.ts): exact float64 distances between
 * points of leaves whose boxes are within eps (and only for points whose own distance to the other leaf's box is
 * within eps).
 *
 * While counting, every point below minPoints records the neighbours it meets (at most minPoints − 1 of them, so
 * n·(minPoints − 1) indices, when that fits storeMaxEntries, by default dbscan.ts's NEIGHBOUR_STORE_MAX_ENTRIES).
 * Non-core points never reach minPoints, so their lists end up complete and border points are labelled from them
 * without a third search.
 */
export class KdTreeEngine implements NeighbourEngine {
  readonly method = 'kd-tree (host, float64)';
  private readonly tree: KdTree;
  private readonly pacer: Pacer;
  private readonly out: Int32Array;
  private readonly stack: Int32Array;
  /** Neighbours (positions) recorded per position while it was below minPoints; null when over budget. */
  private store: Int32Array | null = null;
  private storeWidth = 0;

  constructor(
    points: Float32Array,
    n: number,
    d: number,
    private readonly eps2: number,
    hooks: ClusteringHooks,
    private readonly storeMaxEntries: number,
  ) {
    this.tree = buildKdTree(points, n, d, leafSize(d));
    this.pacer = new Pacer(hooks, this.method);
    this.out = new Int32Array(this.tree.leafCount);
    this.stack = new Int32Array(this.tree.left.length + 2);
  }

  dispose(): void {
    this.store = null;
  }

  async countNeighbours(minPoints: number): Promise<Int32Array> {
    const { tree, eps2 } = this;
    const { n, d, x, leafCount, leafStart, leafIsClique, leafOf, perm } = tree;
    const count = new Int32Array(n).fill(1);
    const width = minPoints - 1;
    const store = width > 0 && n * width <= this.storeMaxEntries ? new Int32Array(n * width) : null;
    this.store = store;
    this.storeWidth = width;
    // unsaturated[l]: points of leaf l still below minPoints; a leaf pair with none on either side is skipped.
    const unsaturated = new Int32Array(leafCount);
    for (let l = 0; l < leafCount; l++) {
      const s = leafStart[l];
      const e = leafStart[l + 1];
      if (leafIsClique[l]) {
        // Identical points: each is the neighbour of all the others.
        for (let p = s; p < e; p++) {
          count[p] = e - s;
          // Recorded like any other neighbours: the first minPoints − 1 of them.
          if (store) {
            let k = 0;
            for (let q = s; q < e && k < width; q++) if (q !== p) store[p * width + k++] = q;
          }
        }
      }
      for (let p = s; p < e; p++) if (count[p] < minPoints) unsaturated[l]++;
    }
    const bump = (p: number, q: number): void => {
      const c = count[p];
      if (c >= minPoints) return;
      if (store) store[p * width + c - 1] = q;
      count[p] = c + 1;
      if (c + 1 === minPoints) unsaturated[leafOf[p]]--;
    };
    const d4 = d - (d % 4);
    for (let a = 0; a < leafCount; a++) {
      const m = candidateLeaves(tree, a, eps2, true, this.out, this.stack);
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (unsaturated[a] === 0 && unsaturated[b] === 0) continue;
        const same = a === b;
        if (same && leafIsClique[a]) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          const pOpen = count[p] < minPoints;
          if (!pOpen && unsaturated[b] === 0) continue;
          if (!same && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          const pb = p * d;
          for (let q = same ? p + 1 : bs; q < be; q++) {
            if (!pOpen && count[q] >= minPoints) continue;
            // Squared distance, giving up once past eps² (checked every 4 dimensions).
            const qb = q * d;
            let s = 0;
            let j = 0;
            while (j < d4) {
              const t0 = x[pb + j] - x[qb + j];
              const t1 = x[pb + j + 1] - x[qb + j + 1];
              const t2 = x[pb + j + 2] - x[qb + j + 2];
              const t3 = x[pb + j + 3] - x[qb + j + 3];
              s += t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3;
              j += 4;
              if (s > eps2) break;
            }
            if (s > eps2) continue;
            for (; j < d; j++) {
              const t = x[pb + j] - x[qb + j];
              s += t * t;
            }
            if (s <= eps2) {
              bump(p, q);
              bump(q, p);
            }
          }
        }
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('count neighbours', a, leafCount);
      }
    }
    await this.pacer.beat('count neighbours', leafCount, leafCount);
    const byIndex = new Int32Array(n);
    for (let p = 0; p < n; p++) byIndex[perm[p]] = count[p];
    this.positionCounts = count;
    return byIndex;
  }

  private positionCounts: Int32Array | null = null;

  async connectCore(core: Uint8Array, uf: UnionFind): Promise<void> {
    const { tree, eps2 } = this;
    const { n, d, x, leafCount, leafStart, leafIsClique, perm } = tree;
    // Union-find by position here (cache-friendly); the result is moved to original indices at the end.
    const local = new UnionFind(n);
    const isCore = new Uint8Array(n);
    const coreInLeaf = new Int32Array(leafCount);
    for (let p = 0; p < n; p++) {
      if (core[perm[p]]) {
        isCore[p] = 1;
        coreInLeaf[tree.leafOf[p]]++;
      }
    }
    // Start from the core–core links recorded while counting: they already join most of each cluster, so the leaf
    // pairs below mostly find both sides in one component and are skipped without computing a distance.
    const { store, storeWidth, positionCounts } = this;
    if (store && positionCounts) {
      for (let p = 0; p < n; p++) {
        if (!isCore[p]) continue;
        const recorded = Math.min(positionCounts[p], storeWidth + 1) - 1;
        for (let k = 0; k < recorded; k++) {
          const q = store[p * storeWidth + k];
          if (isCore[q]) local.linkRoots(local.find(p), local.find(q));
        }
      }
    }
    // The common root of a leaf's core points, or -1 when they are not (yet) in one component.
    const leafRoot = (l: number): number => {
      let root = -1;
      for (let p = leafStart[l]; p < leafStart[l + 1]; p++) {
        if (!isCore[p]) continue;
        const r = local.find(p);
        if (root === -1) root = r;
        else if (r !== root) return -1;
      }
      return root;
    };
    for (let a = 0; a < leafCount; a++) {
      if (coreInLeaf[a] === 0) continue;
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      if (leafIsClique[a]) {
        // Identical points: all core or none; link them in one sweep.
        let root = local.find(as);
        for (let p = as + 1; p < ae; p++) root = local.linkRoots(root, local.find(p));
      }
      const m = candidateLeaves(tree, a, eps2, true, this.out, this.stack);
      let rootA = leafRoot(a);
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (coreInLeaf[b] === 0) continue;
        const same = a === b;
        if (same && leafIsClique[a]) continue;
        if (rootA >= 0) rootA = local.find(rootA);
        // Both leaves already in one component: no pair between them can add anything.
        if (rootA >= 0 && (same || leafRoot(b) === rootA)) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          if (!isCore[p]) continue;
          if (!same && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          let rp = local.find(p);
          const pb = p * d;
          for (let q = same ? p + 1 : bs; q < be; q++) {
            if (!isCore[q]) continue;
            const rq = local.find(q);
            if (rq === rp) continue;
            const qb = q * d;
            let s = 0;
            for (let j = 0; j < d && s <= eps2; j++) {
              const t = x[pb + j] - x[qb + j];
              s += t * t;
            }
            if (s <= eps2) rp = local.linkRoots(rp, rq);
          }
        }
        if (rootA < 0) rootA = leafRoot(a);
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('connect core points', a, leafCount);
      }
    }
    for (let p = 0; p < n; p++) {
      if (!isCore[p]) continue;
      const r = local.find(p);
      if (r !== p) uf.linkRoots(uf.find(perm[p]), uf.find(perm[r]));
    }
    await this.pacer.beat('connect core points', leafCount, leafCount);
  }

  async nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array> {
    const { tree, eps2, store, storeWidth } = this;
    const { n, leafCount, leafStart, perm } = tree;
    const best = new Int32Array(n).fill(-1);
    if (store && this.positionCounts) {
      // Non-core points never reached minPoints, so their recorded neighbour lists are complete.
      const count = this.positionCounts;
      for (let p = 0; p < n; p++) {
        const i = perm[p];
        if (!candidates[i]) continue;
        let r = -1;
        for (let k = 0; k < count[p] - 1; k++) {
          const j = perm[store[p * storeWidth + k]];
          if (core[j] && (r < 0 || labels[j] < r)) r = labels[j];
        }
        best[i] = r;
      }
      await this.pacer.beat('assign border points', n, n);
      return best;
    }
    const coreInLeaf = new Int32Array(leafCount);
    const candInLeaf = new Int32Array(leafCount);
    for (let p = 0; p < n; p++) {
      if (core[perm[p]]) coreInLeaf[tree.leafOf[p]]++;
      if (candidates[perm[p]]) candInLeaf[tree.leafOf[p]]++;
    }
    const { d, x } = tree;
    for (let a = 0; a < leafCount; a++) {
      if (candInLeaf[a] === 0) continue;
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      const m = candidateLeaves(tree, a, eps2, false, this.out, this.stack);
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (coreInLeaf[b] === 0) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          const i = perm[p];
          if (!candidates[i]) continue;
          if (a !== b && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          let r = best[i];
          const pb = p * d;
          for (let q = bs; q < be; q++) {
            const j = perm[q];
            if (!core[j]) continue;
            const lj = labels[j];
            if (r >= 0 && lj >= r) continue;
            const qb = q * d;
            let s = 0;
            for (let k = 0; k < d && s <= eps2; k++) {
              const t = x[pb + k] - x[qb + k];
              s += t * t;
            }
            if (s <= eps2) r = lj;
          }
          best[i] = r;
        }
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('assign border points', a, leafCount);
      }
    }
    await this.pacer.beat('assign border points', leafCount, leafCount);
    return best;
  }
}
