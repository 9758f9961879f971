/**
 * A bucket kd-tree over n points for exact fixed-radius neighbour search on the host, used by DBSCAN on CPU backends
 * in low and moderate dimensions (where a tree prunes well and scalar float64 loops beat dense tensor blocks).
 *
 * The tree splits at the median of the widest dimension until a node holds at most `leafSize` points, and reorders
 * the points so that every node is a contiguous range of positions with a bounding box. Neighbour search then runs
 * leaf against leaf: two leaves can only hold points within eps of each other when their boxes are within eps, so
 * callers enumerate candidate leaf pairs with `candidateLeaves` and compare the points of the two ranges directly.
 * Memory is O(n·d): the reordered float64 copy of the points plus a few boxes per leaf; no neighbour lists are kept.
 */

export interface KdTree {
  n: number;
  d: number;
  /** perm[p] = original index of the point at position p. */
  perm: Int32Array;
  /** Points reordered by position, float64 (exact copies of the float32 inputs), row-major n×d. */
  x: Float64Array;
  /** Leaves in position order: leaf l holds positions [leafStart[l], leafStart[l+1]). */
  leafStart: Int32Array;
  leafCount: number;
  /** leafOf[p] = the leaf holding position p. */
  leafOf: Int32Array;
  /** 1 where every point of the leaf is identical (a node that cannot be split); such a leaf is a clique. */
  leafIsClique: Uint8Array;
  /** Node arrays (node 0 is the root). left/right = -1 for a leaf; leafId = -1 for an inner node. */
  left: Int32Array;
  right: Int32Array;
  leafId: Int32Array;
  /** Bounding boxes, nodes × d. */
  lo: Float64Array;
  hi: Float64Array;
  /** The node of each leaf, to read its box. */
  leafNode: Int32Array;
}

/** Builds the tree in O(n·d·log n) time. `points` is row-major n×d float32 and is not modified. */
export function buildKdTree(points: Float32Array, n: number, d: number, leafSize: number): KdTree {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const maxNodes = 2 * Math.ceil(n / Math.max(1, Math.floor(leafSize / 2))) + 1;
  const start = new Int32Array(maxNodes);
  const end = new Int32Array(maxNodes);
  const left = new Int32Array(maxNodes).fill(-1);
  const right = new Int32Array(maxNodes).fill(-1);
  const leafIdOfNode = new Int32Array(maxNodes).fill(-1);
  const lo = new Float64Array(maxNodes * d);
  const hi = new Float64Array(maxNodes * d);
  const cliqueOfNode = new Uint8Array(maxNodes);
  let nodes = 1;
  start[0] = 0;
  end[0] = n;
  // Depth-first with an explicit stack, left child first, so leaves come out in position order.
  const stack: number[] = [0];
  const leafNodes: number[] = [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const s = start[node];
    const e = end[node];
    // Bounding box of the node's points.
    for (let j = 0; j < d; j++) {
      lo[node * d + j] = Infinity;
      hi[node * d + j] = -Infinity;
    }
    for (let p = s; p < e; p++) {
      const base = perm[p] * d;
      for (let j = 0; j < d; j++) {
        const v = points[base + j];
        if (v < lo[node * d + j]) lo[node * d + j] = v;
        if (v > hi[node * d + j]) hi[node * d + j] = v;
      }
    }
    let dim = 0;
    let spread = -1;
    for (let j = 0; j < d; j++) {
      const sp = hi[node * d + j] - lo[node * d + j];
      if (sp > spread) {
        spread = sp;
        dim = j;
      }
    }
    if (e - s <= leafSize || spread <= 0) {
      leafIdOfNode[node] = leafNodes.length;
      cliqueOfNode[node] = spread <= 0 && e - s > 1 ? 1 : 0;
      leafNodes.push(node);
      continue;
    }
    const mid = (s + e) >>> 1;
    selectNth(perm, points, d, dim, s, e - 1, mid);
    const l = nodes++;
    const r = nodes++;
    start[l] = s;
    end[l] = mid;
    start[r] = mid;
    end[r] = e;
    left[node] = l;
    right[node] = r;
    stack.push(r, l);
  }
  const leafCount = leafNodes.length;
  const leafStart = new Int32Array(leafCount + 1);
  const leafNode = Int32Array.from(leafNodes);
  const leafIsClique = new Uint8Array(leafCount);
  const leafOf = new Int32Array(n);
  for (let l = 0; l < leafCount; l++) {
    const node = leafNodes[l];
    leafStart[l] = start[node];
    leafIsClique[l] = cliqueOfNode[node];
    for (let p = start[node]; p < end[node]; p++) leafOf[p] = l;
  }
  leafStart[leafCount] = n;
  const x = new Float64Array(n * d);
  for (let p = 0; p < n; p++) {
    const base = perm[p] * d;
    for (let j = 0; j < d; j++) x[p * d + j] = points[base + j];
  }
  return {
    n,
    d,
    perm,
    x,
    leafStart,
    leafCount,
    leafOf,
    leafIsClique,
    left: left.subarray(0, nodes),
    right: right.subarray(0, nodes),
    leafId: leafIdOfNode.subarray(0, nodes),
    lo: lo.subarray(0, nodes * d),
    hi: hi.subarray(0, nodes * d),
    leafNode,
  };
}

/** Rearranges perm[from..to] (inclusive) so that position k holds the k-th smallest by column `dim` (Hoare quickselect). */
function selectNth(
  perm: Int32Array,
  points: Float32Array,
  d: number,
  dim: number,
  from: number,
  to: number,
  k: number,
): void {
  let l = from;
  let r = to;
  while (r > l) {
    // Median of three for a pivot, robust on sorted input.
    const m = (l + r) >>> 1;
    const a = points[perm[l] * d + dim];
    const b = points[perm[m] * d + dim];
    const c = points[perm[r] * d + dim];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = l;
    let j = r;
    while (i <= j) {
      while (points[perm[i] * d + dim] < pivot) i++;
      while (points[perm[j] * d + dim] > pivot) j--;
      if (i <= j) {
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

/**
 * Writes into `out` the leaves whose boxes lie within sqrt(eps2) of leaf `leaf`'s box (itself included) and returns
 * how many. With `onlyAfter`, only leaves with an id ≥ `leaf`, so that each unordered pair is visited once.
 * `stack` must hold at least the tree's depth + 2 entries (the node count is always enough).
 */
export function candidateLeaves(
  tree: KdTree,
  leaf: number,
  eps2: number,
  onlyAfter: boolean,
  out: Int32Array,
  stack: Int32Array,
): number {
  const { d, lo, hi, left, right, leafId } = tree;
  const a = tree.leafNode[leaf] * d;
  let count = 0;
  let top = 0;
  stack[top++] = 0;
  while (top > 0) {
    const node = stack[--top];
    const id = leafId[node];
    if (onlyAfter && id >= 0 && id < leaf) continue;
    // Squared gap between the two boxes, stopping as soon as it exceeds eps².
    const b = node * d;
    let gap = 0;
    for (let j = 0; j < d && gap <= eps2; j++) {
      const g1 = lo[b + j] - hi[a + j];
      const g2 = lo[a + j] - hi[b + j];
      const g = g1 > 0 ? g1 : g2 > 0 ? g2 : 0;
      gap += g * g;
    }
    if (gap > eps2) continue;
    if (id >= 0) out[count++] = id;
    else {
      stack[top++] = right[node];
      stack[top++] = left[node];
    }
  }
  return count;
}

/** Squared distance from position p to the box of leaf `leaf`, stopping early once it exceeds `limit`. */
export function pointToLeafBox2(tree: KdTree, p: number, leaf: number, limit: number): number {
  const { d, x, lo, hi } = tree;
  const b = tree.leafNode[leaf] * d;
  const xp = p * d;
  let s = 0;
  for (let j = 0; j < d && s <= limit; j++) {
    const v = x[xp + j];
    const g1 = lo[b + j] - v;
    const g2 = v - hi[b + j];
    const g = g1 > 0 ? g1 : g2 > 0 ? g2 : 0;
    s += g * g;
  }
  return s;
}
