import { Table } from '../../datasets/table';

/**
 * Exact row identity for duplicate and overlap counting, without one object per row: rows are hashed from their
 * cells into an open-addressing table of row indices (Int32Array), and rows whose hashes collide are compared cell by
 * cell, so a hash collision never counts as a duplicate.
 *
 * Cell identity: numbers by value (-0 equals 0; every NaN equals every NaN, so two rows missing the same cells can be
 * duplicates); categorical cells by level name, so two tables whose levels were numbered in a different order still
 * match; an invalid categorical cell (not a level index) reads as missing.
 */
export interface RowView {
  values: Float64Array;
  stride: number;
  rows: number;
  /** The table columns that make up the row, in comparison order. */
  columns: Int32Array;
  /** Per compared column: for categorical columns the code each level index reads as, otherwise undefined. */
  codes: Array<Int32Array | undefined>;
}

/** All columns of a table, categorical levels read as their own indices. */
export function tableView(table: Table): RowView {
  return projectedView(
    table,
    table.columns.map((_, i) => i),
    table.columns.map((c) => (c.type === 'string' ? Int32Array.from(c.levels ?? [], (_, i) => i) : undefined)),
  );
}

/** A view over some columns of `table`, with the given level codes. */
export function projectedView(table: Table, columns: number[], codes: Array<Int32Array | undefined>): RowView {
  return {
    values: table.values,
    stride: table.columns.length,
    rows: table.rows,
    columns: Int32Array.from(columns),
    codes,
  };
}

/** The value a cell is compared as (see RowView). */
function cellValue(view: RowView, row: number, k: number): number {
  const v = view.values[row * view.stride + view.columns[k]];
  const codes = view.codes[k];
  if (codes === undefined) return v === 0 ? 0 : v;
  return v >= 0 && v < codes.length && Number.isInteger(v) ? codes[v] : NaN;
}

const scratch = new Float64Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** 32-bit MurmurHash3-style hash of a row's compared cells. */
function rowHash(view: RowView, row: number): number {
  let h = 0x9747b28c;
  for (let k = 0; k < view.columns.length; k++) {
    const v = cellValue(view, row, k);
    if (v !== v) {
      h = mix(h, 0x7ff80000);
      h = mix(h, 0);
    } else {
      scratch[0] = v;
      h = mix(h, scratchBits[0]);
      h = mix(h, scratchBits[1]);
    }
  }
  h ^= view.columns.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function sameRow(a: RowView, ra: number, b: RowView, rb: number): boolean {
  for (let k = 0; k < a.columns.length; k++) {
    const x = cellValue(a, ra, k);
    const y = cellValue(b, rb, k);
    if (x !== y && !(x !== x && y !== y)) return false;
  }
  return true;
}

/** A set of distinct rows of one view. */
export class RowSet {
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;

  constructor(private readonly view: RowView) {
    let capacity = 16;
    while (capacity < view.rows * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.hashes = new Int32Array(view.rows);
    this.mask = capacity - 1;
  }

  /** Adds row `row` of the set's own view; false when an equal row is already in the set. */
  add(row: number): boolean {
    const h = rowHash(this.view, row);
    this.hashes[row] = h;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const other = this.slots[s];
      if (other === -1) {
        this.slots[s] = row;
        return true;
      }
      if (this.hashes[other] === h && sameRow(this.view, other, this.view, row)) return false;
    }
  }

  /** Whether row `row` of `view` (same compared columns, same codes) equals a row in the set. */
  has(view: RowView, row: number): boolean {
    const h = rowHash(view, row);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const other = this.slots[s];
      if (other === -1) return false;
      if (this.hashes[other] === h && sameRow(this.view, other, view, row)) return true;
    }
  }
}

/** Rows of `view` equal to an earlier row of it. */
export function countDuplicateRows(view: RowView): number {
  const set = new RowSet(view);
  let duplicates = 0;
  for (let r = 0; r < view.rows; r++) if (!set.add(r)) duplicates++;
  return duplicates;
}

/**
 * Views of two tables over the columns they share (same name and kind, first occurrence of a name), categorical
 * levels coded by name: `a`'s level indices as they are, `b`'s mapped onto them and levels `a` lacks given new codes.
 */
export function sharedViews(a: Table, b: Table): { a: RowView; b: RowView; columns: string[] } {
  const inB = new Map<string, number>();
  b.columns.forEach((c, i) => {
    if (!inB.has(c.name)) inB.set(c.name, i);
  });
  const colsA: number[] = [];
  const colsB: number[] = [];
  const codesA: Array<Int32Array | undefined> = [];
  const codesB: Array<Int32Array | undefined> = [];
  const names: string[] = [];
  const seen = new Set<string>();
  a.columns.forEach((spec, i) => {
    const j = inB.get(spec.name);
    if (j === undefined || seen.has(spec.name) || b.columns[j].type !== spec.type) return;
    seen.add(spec.name);
    colsA.push(i);
    colsB.push(j);
    names.push(spec.name);
    if (spec.type !== 'string') {
      codesA.push(undefined);
      codesB.push(undefined);
      return;
    }
    const levelsA = spec.levels ?? [];
    const index = new Map<string, number>();
    levelsA.forEach((level, code) => {
      if (!index.has(level)) index.set(level, code);
    });
    codesA.push(Int32Array.from(levelsA, (level) => index.get(level) as number));
    let next = levelsA.length;
    codesB.push(
      Int32Array.from(b.columns[j].levels ?? [], (level) => {
        let code = index.get(level);
        if (code === undefined) index.set(level, (code = next++));
        return code;
      }),
    );
  });
  return { a: projectedView(a, colsA, codesA), b: projectedView(b, colsB, codesB), columns: names };
}
