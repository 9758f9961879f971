/**
 * Union-find for DBSCAN's second pass (dbscan.ts): the root of a set is always its smallest member, so after linking
 * every pair of core points within eps the root of a core point is its component's smallest core index.
 */

/** Disjoint sets over 0..n-1 whose root is always the smallest member (path halving; no ranks needed for O(log n)). */
export class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }
  /** Joins the sets of two roots; returns the new root. */
  linkRoots(a: number, b: number): number {
    if (a === b) return a;
    if (a < b) {
      this.parent[b] = a;
      return a;
    }
    this.parent[a] = b;
    return b;
  }
}
