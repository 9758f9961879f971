// The list table every page draws the same way: a scrolling wrapper, a `list` table with one header row of column
// headers and one row per item, and a note in its place when there are no items.
import { html } from 'htm/preact';

/**
 * One column of a ListTable.
 * @template T
 * @typedef {object} Column
 * @property {unknown} label  the header cell's content (`<th scope="col">`)
 * @property {(item: T) => unknown} cell  an item's cell content
 * @property {boolean} [rowHeader]  the item's cell is its row's header (`<th scope="row">`) instead of a `<td>`
 * @property {string} [headClass]  the header cell's class
 * @property {string} [cellClass]  the class of every item's cell
 * @property {(item: T) => Record<string, unknown>} [cellProps]  more attributes of an item's cell (`data-*`)
 */

/**
 * A list as a table: `<div class="table-wrap"><table class="list" id>` with an optional caption, a header row from
 * `columns` and one row per item of `rows`.
 *
 * Nothing while `rows` is undefined (still loading); `empty` in the table's place when `rows` is empty (a string
 * becomes a paragraph, anything else shows as it is); with no `empty`, an empty table.
 * @template T
 * @param {{ columns: Array<Column<T>>, rows: T[] | undefined, empty?: unknown, id?: string, caption?: string,
 *   hideCaption?: boolean, rowProps?: (item: T) => Record<string, unknown> }} props  `hideCaption`: the caption is
 *   for screen readers only (visually hidden); `rowProps`: attributes of an item's `<tr>` (`data-*`, class)
 */
export function ListTable({ columns, rows, empty, id, caption, hideCaption, rowProps }) {
  if (!rows) return null;
  if (rows.length === 0 && empty !== undefined) return typeof empty === 'string' ? html`<p>${empty}</p>` : empty;
  return html`<div class="table-wrap">
    <table class="list" id=${id}>
      ${
        caption
          ? html`<caption class=${hideCaption ? 'visually-hidden' : undefined}>
              ${caption}
            </caption>`
          : null
      }
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col" class=${c.headClass}>${c.label}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (item) =>
            html`<tr ...${rowProps?.(item) ?? {}}>
              ${columns.map((c) =>
                c.rowHeader
                  ? html`<th scope="row" class=${c.cellClass} ...${c.cellProps?.(item) ?? {}}>${c.cell(item)}</th>`
                  : html`<td class=${c.cellClass} ...${c.cellProps?.(item) ?? {}}>${c.cell(item)}</td>`,
              )}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
