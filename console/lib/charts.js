// Charts on uPlot (served from node_modules): line charts (loss curves), scatter plots (clusters) and bar charts
// (histograms), plus a confusion-matrix heat map as an HTML table (readable by screen readers, no canvas needed).
// Each chart's <figure> carries data-points: the number of values it plotted, which the browser tests check against
// what the canvas shows; its plot element keeps the uPlot instance as `uplot`, so they can read the axes' ticks too.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

/** Categorical colours (Tableau 10 without its grey, which marks noise): distinct for the common colour blindnesses. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];
export const NOISE_COLOUR = '#9a9a9a';

/** The colour of cluster `c` (noise, -1, is grey). */
export function clusterColour(c) {
  return c < 0 ? NOISE_COLOUR : PALETTE[c % PALETTE.length];
}

/**
 * The size of a value axis: its widest tick label, the tick and the gap. uPlot's default is a fixed 50 px (and the
 * 45 px given before clipped "1,500" to ",500"); as a function, uPlot calls it again with the labels it drew until
 * the size settles.
 */
function fitTickLabels(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), '');
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  }
  return Math.ceil(size) + 4;
}

/** Tick steps of whole numbers only (epochs): 1, 2, 5, 10, 20, 50... (uPlot's defaults include 0.1 and 2.5). */
const WHOLE_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6].map((p) => m * p)).sort((a, b) => a - b);

/**
 * A uPlot chart in a <figure>, sized to its container (and resized with it); `legend` (HTML, under the plot) and
 * `controls` (above it) are optional, `rebuild` names any state besides the data that changes the options.
 * @param {{ name: string, caption: string, options: (width: number) => any, data: any[], points: number, height?: number, legend?: any, controls?: any, rebuild?: unknown }} props
 */
function UPlotFigure({ name, caption, options, data, points, height = 280, legend, controls, rebuild }) {
  const host = useRef(/** @type {HTMLDivElement | null} */ (null));
  const plot = useRef(/** @type {any} */ (null));
  // Pages re-render on every poll: the chart is rebuilt only when what it plots changes.
  const key = JSON.stringify([caption, data, rebuild ?? null]);
  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const width = Math.max(240, el.clientWidth);
    plot.current?.destroy();
    plot.current = new uPlot({ ...options(width), width, height }, data, el);
    /** @type {any} */ (el).uplot = plot.current;
    const observer = new ResizeObserver(() => {
      const w = Math.max(240, el.clientWidth);
      if (plot.current && Math.abs(plot.current.width - w) > 2) plot.current.setSize({ width: w, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key, height]);
  return html`<figure class="chart" data-chart=${name} data-points=${points}>
    <figcaption>${caption}</figcaption>
    ${controls ?? null}
    <div class="chart-host" ref=${host} role="img" aria-label=${`${caption}: ${points} values plotted`}></div>
    ${legend ?? null}
  </figure>`;
}

/**
 * Lines over a shared x axis of whole numbers (epochs: ticks at whole values only): `x` values and one
 * `{ label, values }` per series (null where a series has no value), each in its own colour (PALETTE in order unless
 * given; `dash` draws it dashed as well), named in a legend under the plot. With `logToggle`, a checkbox switches the
 * y axis to a log scale (values ≤ 0 are then left out: a log scale has no place for them).
 * @param {{ name: string, caption: string, x: number[], series: Array<{label: string, values: Array<number | null | undefined>, colour?: string, dash?: number[]}>, xLabel?: string, yLabel?: string, logToggle?: boolean }} props
 */
export function LineChart({ name, caption, x, series, xLabel = 'epoch', yLabel = '', logToggle = false }) {
  const [log, setLog] = useState(false);
  const useLog = logToggle && log;
  const keep = (v) => typeof v === 'number' && Number.isFinite(v) && (!useLog || v > 0);
  const data = [x, ...series.map((s) => s.values.map((v) => (keep(v) ? v : null)))];
  const points = data.slice(1).reduce((n, vs) => n + vs.filter((v) => v !== null).length, 0);
  const colours = series.map((s, i) => s.colour ?? PALETTE[i % PALETTE.length]);
  const options = () => ({
    scales: { x: { time: false }, y: useLog ? { distr: 3, log: 10 } : {} },
    legend: { show: false },
    axes: [
      { label: xLabel, incrs: WHOLE_STEPS, values: (_u, ticks) => ticks.map((t) => t.toLocaleString('en-US')) },
      { label: yLabel, size: fitTickLabels },
    ],
    series: [
      { label: xLabel },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: colours[i],
        width: 2,
        ...(s.dash ? { dash: s.dash } : {}),
        spanGaps: true,
        points: { show: x.length <= 60 },
      })),
    ],
  });
  const legend = html`<ul class="legend" aria-label=${`Series of the chart: ${caption}`}>
    ${series.map(
      (s, i) =>
        html`<li data-series=${s.label} data-colour=${colours[i]}>
          <span
            class="legend-line"
            style=${`border-top: 3px ${s.dash ? 'dashed' : 'solid'} ${colours[i]}`}
            aria-hidden="true"
          ></span
          >${s.label}${s.dash ? ' (dashed)' : ''}
        </li>`,
    )}
  </ul>`;
  const controls = logToggle
    ? html`<label class="check chart-control"
        ><input
          type="checkbox"
          name=${`${name}-log`}
          checked=${log}
          onChange=${(e) => setLog(e.currentTarget.checked)}
        />
        Log scale (y axis)</label
      >`
    : null;
  return html`<${UPlotFigure}
    name=${name}
    caption=${caption}
    options=${options}
    data=${data}
    points=${points}
    legend=${legend}
    controls=${controls}
    rebuild=${useLog}
  />`;
}

/** A scale range with a margin around the data: [min − 4 %, max + 4 %] of the span (±1 for a single value). */
function padded(_u, min, max) {
  const span = max - min || Math.abs(max) || 1;
  return [min - span * 0.04, max + span * 0.04];
}

/**
 * A scatter plot (uPlot's mode 2: one x/y pair of arrays per series): one series per cluster, noise in grey, and the
 * centroids as large dark-outlined markers.
 * @param {{ name: string, caption: string, x: number[], y: number[], label: number[], centroids: Array<{cluster: number, x: number, y: number}>, axes: string[] }} props
 */
export function ClusterScatter({ name, caption, x, y, label, centroids, axes }) {
  const clusters = [...new Set(label)].sort((a, b) => a - b);
  const byCluster = clusters.map((c) => {
    const xs = [];
    const ys = [];
    label.forEach((l, i) => {
      if (l === c) {
        xs.push(x[i]);
        ys.push(y[i]);
      }
    });
    return { c, xs, ys };
  });
  const data = [
    null,
    ...byCluster.map(({ xs, ys }) => [xs, ys]),
    [centroids.map((p) => p.x), centroids.map((p) => p.y)],
  ];
  const size = x.length > 2000 ? 3 : 5;
  const options = () => ({
    mode: 2,
    // 4 % of the span on each side, so points at the extremes are not cut in half by the plot's edge.
    scales: { x: { time: false, range: padded }, y: { range: padded } },
    axes: [{ label: axes[0] }, { label: axes[1], size: fitTickLabels }],
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    series: [
      {},
      ...byCluster.map(({ c }) => ({
        label: c < 0 ? 'noise' : `cluster ${c}`,
        stroke: clusterColour(c),
        fill: clusterColour(c),
        paths: uPlot.paths.points(),
        points: { show: false, size, width: 0 },
      })),
      {
        label: 'centroids',
        stroke: '#111',
        fill: '#fff',
        paths: uPlot.paths.points(),
        points: { show: false, size: 15, width: 3 },
      },
    ],
  });
  return html`<${UPlotFigure}
    name=${name}
    caption=${caption}
    options=${options}
    data=${data}
    points=${x.length}
    height=${360}
  />`;
}

/**
 * Bars (a histogram): one bar per bin centre, from a count axis that starts at 0.
 * @param {{ name: string, caption: string, edges: number[], counts: number[], height?: number }} props
 */
export function Histogram({ name, caption, edges, counts, height = 140 }) {
  const centres = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  const data = [centres, counts];
  const options = () => ({
    scales: {
      x: {
        time: false,
        range: [edges[0], edges[edges.length - 1] === edges[0] ? edges[0] + 1 : edges[edges.length - 1]],
      },
      // Counts: bars stand on 0 (uPlot's automatic range starts near the smallest count), with headroom on top.
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    legend: { show: false },
    cursor: { show: false },
    axes: [{ size: 30 }, { size: fitTickLabels }],
    series: [
      {},
      {
        label: 'rows',
        fill: '#4e79a7cc',
        stroke: '#4e79a7',
        paths: uPlot.paths.bars({ size: [0.95, 100] }),
        points: { show: false },
      },
    ],
  });
  return html`<${UPlotFigure}
    name=${name}
    caption=${caption}
    options=${options}
    data=${data}
    points=${counts.length}
    height=${height}
  />`;
}

/**
 * A confusion matrix as a heat map: rows are true classes, columns predictions; a cell's shade is its share of the
 * row (recall per class on the diagonal), its text the count.
 * @param {{ matrix: number[][], classes: string[] }} props
 */
export function ConfusionMatrix({ matrix, classes }) {
  return html`<div class="table-wrap">
    <table class="heatmap" data-chart="confusion">
      <caption>
        Confusion matrix (rows: true class, columns: predicted; shade: share of the row)
      </caption>
      <thead>
        <tr>
          <th scope="col">true \\ predicted</th>
          ${classes.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${matrix.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1;
          return html`<tr>
            <th scope="row">${classes[i]}</th>
            ${row.map((v, j) => {
              const share = v / total;
              const style = `background: rgba(31, 78, 140, ${(0.08 + 0.92 * share).toFixed(3)}); color: ${share > 0.45 ? '#fff' : '#111'}`;
              return html`<td style=${style} title=${`${classes[i]} predicted as ${classes[j]}: ${v}`}>${v}</td>`;
            })}
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}
