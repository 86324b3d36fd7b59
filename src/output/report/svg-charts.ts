// Charts of the HTML report as SVG text, drawn when the report is made: the file opens offline,
// with no script, and looks the same in every browser. Each chart has a title, axis labels with
// units, and a fixed viewBox that reads well at 1280 px.
import { escapeXml } from './escape.js';

const CHART_WIDTH = 1200;
const FONT = 'font-family="system-ui, sans-serif"';
const AXIS = '#444';
const GRID = '#e3e3e3';
const COLORS = ['#2f6db5', '#e07b24', '#3a9a4a', '#b83b5e', '#7a5cc4', '#8c6d31'];

interface Frame {
  /** Plot area inside the svg. */
  left: number;
  top: number;
  width: number;
  height: number;
}

function svgOpen(title: string, height: number, kind: string): string {
  return (
    `<svg class="chart" data-chart="${escapeXml(kind)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART_WIDTH} ${height}" ` +
    `width="${CHART_WIDTH}" height="${height}" role="img" aria-label="${escapeXml(title)}" ${FONT} font-size="13">` +
    `<title>${escapeXml(title)}</title>` +
    `<text x="${CHART_WIDTH / 2}" y="20" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(title)}</text>`
  );
}

/** Round tick steps (1, 2, 5 x 10^n) covering 0..max with about `count` ticks. */
function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

export function compactNumber(n: number): string {
  if (Math.abs(n) >= 1e9) return `${trim(n / 1e9)}G`;
  if (Math.abs(n) >= 1e6) return `${trim(n / 1e6)}M`;
  if (Math.abs(n) >= 1e4) return `${trim(n / 1e3)}k`;
  return String(Math.round(n * 100) / 100);
}
const trim = (x: number): string => String(Math.round(x * 10) / 10);

/** Y axis with grid lines and its label (rotated), for values 0..top. */
function yAxis(f: Frame, ticks: number[], label: string): string {
  const top = ticks[ticks.length - 1];
  let out = '';
  for (const t of ticks) {
    const y = f.top + f.height - (t / top) * f.height;
    out += `<line x1="${f.left}" x2="${f.left + f.width}" y1="${y}" y2="${y}" stroke="${GRID}"/>`;
    out += `<text x="${f.left - 6}" y="${y + 4}" text-anchor="end" fill="${AXIS}">${compactNumber(t)}</text>`;
  }
  out += `<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.top + f.height}" stroke="${AXIS}"/>`;
  out += `<line x1="${f.left}" x2="${f.left + f.width}" y1="${f.top + f.height}" y2="${f.top + f.height}" stroke="${AXIS}"/>`;
  const cy = f.top + f.height / 2;
  out += `<text x="16" y="${cy}" transform="rotate(-90 16 ${cy})" text-anchor="middle" fill="${AXIS}">${escapeXml(label)}</text>`;
  return out;
}

function xLabel(f: Frame, label: string, height: number): string {
  return `<text x="${f.left + f.width / 2}" y="${height - 8}" text-anchor="middle" fill="${AXIS}">${escapeXml(label)}</text>`;
}

function legend(f: Frame, names: string[]): string {
  return names
    .map((n, i) => {
      const x = f.left + f.width - 150 * (names.length - i);
      return `<rect x="${x}" y="${f.top - 22}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 18}" y="${f.top - 12}">${escapeXml(n)}</text>`;
    })
    .join('');
}

/** Labels under a run of categories, thinned so they do not overlap. */
function categoryLabels(f: Frame, labels: string[], slot: number): string {
  const every = Math.max(1, Math.ceil((labels.length * 70) / f.width));
  return labels
    .map((l, i) => (i % every === 0 ? `<text x="${f.left + slot * (i + 0.5)}" y="${f.top + f.height + 18}" text-anchor="middle" fill="${AXIS}">${escapeXml(l)}</text>` : ''))
    .join('');
}

export interface BarSeries {
  name: string;
  values: number[];
}

export interface BarChartSpec {
  title: string;
  kind: string;
  categories: string[];
  series: BarSeries[];
  xLabel: string;
  yLabel: string;
}

/** Vertical bars, one group per category (several series side by side). */
export function barChart(spec: BarChartSpec): string {
  const height = 360;
  const f: Frame = { left: 80, top: 56, width: CHART_WIDTH - 110, height: height - 56 - 56 };
  const max = Math.max(0, ...spec.series.flatMap((s) => s.values));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1];
  const slot = f.width / Math.max(1, spec.categories.length);
  const barW = Math.max(1, (slot * 0.8) / spec.series.length);
  let bars = '';
  spec.series.forEach((s, si) => {
    s.values.forEach((v, i) => {
      const h = (v / top) * f.height;
      const x = f.left + slot * i + slot * 0.1 + barW * si;
      bars += `<rect class="mark" x="${x.toFixed(2)}" y="${(f.top + f.height - h).toFixed(2)}" width="${barW.toFixed(2)}" height="${h.toFixed(2)}" fill="${COLORS[si % COLORS.length]}"><title>${escapeXml(`${s.name}, ${spec.categories[i]}: ${v}`)}</title></rect>`;
    });
  });
  return (
    svgOpen(spec.title, height, spec.kind) +
    yAxis(f, ticks, spec.yLabel) +
    bars +
    categoryLabels(f, spec.categories, slot) +
    xLabel(f, spec.xLabel, height) +
    (spec.series.length > 1 ? legend(f, spec.series.map((s) => s.name)) : '') +
    '</svg>'
  );
}

export interface LineChartSpec {
  title: string;
  kind: string;
  categories: string[];
  values: number[];
  xLabel: string;
  yLabel: string;
}

/** One line with its area filled, over evenly spaced categories (time buckets). */
export function lineChart(spec: LineChartSpec): string {
  const height = 360;
  const f: Frame = { left: 80, top: 40, width: CHART_WIDTH - 110, height: height - 40 - 56 };
  const ticks = niceTicks(Math.max(0, ...spec.values));
  const top = ticks[ticks.length - 1];
  const n = spec.values.length;
  const slot = f.width / Math.max(1, n);
  const pts = spec.values.map((v, i) => [f.left + slot * (i + 0.5), f.top + f.height - (v / top) * f.height] as const);
  // a single bucket still draws a visible line: from the axis to its point
  const line = n === 1 ? [[f.left, pts[0][1]] as const, [f.left + f.width, pts[0][1]] as const] : pts;
  const path = line.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(2)},${y.toFixed(2)}`).join('');
  const area = `${path}L${line[line.length - 1][0].toFixed(2)},${f.top + f.height}L${line[0][0].toFixed(2)},${f.top + f.height}Z`;
  return (
    svgOpen(spec.title, height, spec.kind) +
    yAxis(f, ticks, spec.yLabel) +
    `<path class="mark" d="${area}" fill="${COLORS[0]}" fill-opacity="0.15"/>` +
    `<path class="mark" d="${path}" fill="none" stroke="${COLORS[0]}" stroke-width="2"/>` +
    categoryLabels(f, spec.categories, slot) +
    xLabel(f, spec.xLabel, height) +
    '</svg>'
  );
}

export interface HeatStripSpec {
  title: string;
  kind: string;
  rows: Array<{ name: string; cells: number[] }>;
  xLabel: string;
  /** What a cell counts, for the legend and each cell's tooltip ("infohashes"). */
  unit: string[];
}

/** Lighter to darker blue; square root so a few dense cells do not wash out the rest. */
function heatColor(v: number, max: number): string {
  if (v <= 0 || max <= 0) return '#f4f4f4';
  const t = Math.sqrt(v / max);
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * t);
  return `rgb(${mix(222, 16)},${mix(235, 60)},${mix(247, 140)})`;
}

/** One strip of cells per row (256 cells: the first byte of the key), with hex labels under it. */
export function heatStrip(spec: HeatStripSpec): string {
  const rowH = 34;
  const gap = 30;
  const f: Frame = { left: 150, top: 44, width: CHART_WIDTH - 240, height: spec.rows.length * (rowH + gap) - gap };
  const height = f.top + f.height + 64;
  let out = svgOpen(spec.title, height, spec.kind);
  spec.rows.forEach((row, ri) => {
    const y = f.top + ri * (rowH + gap);
    const max = Math.max(0, ...row.cells);
    const w = f.width / row.cells.length;
    out += `<text x="${f.left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${escapeXml(row.name)}</text>`;
    row.cells.forEach((v, i) => {
      const prefix = i.toString(16).padStart(2, '0');
      out += `<rect class="mark" x="${(f.left + i * w).toFixed(2)}" y="${y}" width="${(w + 0.3).toFixed(2)}" height="${rowH}" fill="${heatColor(v, max)}"><title>${prefix}: ${v} ${escapeXml(spec.unit[ri] ?? '')}</title></rect>`;
    });
    out += `<text x="${f.left + f.width + 6}" y="${y + rowH / 2 + 4}" fill="${AXIS}" font-size="11">max ${compactNumber(max)}</text>`;
  });
  for (let i = 0; i <= 256; i += 32) {
    const x = f.left + (i / 256) * f.width;
    out += `<line x1="${x}" x2="${x}" y1="${f.top + f.height}" y2="${f.top + f.height + 5}" stroke="${AXIS}"/>`;
    out += `<text x="${x}" y="${f.top + f.height + 18}" text-anchor="middle" fill="${AXIS}">${i === 256 ? 'ff' : i.toString(16).padStart(2, '0')}</text>`;
  }
  out += xLabel(f, spec.xLabel, height);
  return out + '</svg>';
}

export interface HBarSpec {
  title: string;
  kind: string;
  rows: Array<{ label: string; values: number[] }>;
  series: string[];
  xLabel: string;
}

/** Horizontal bars, one row per label (a census), several series side by side. */
export function hBarChart(spec: HBarSpec): string {
  const rowH = 26;
  const f: Frame = { left: 200, top: 56, width: CHART_WIDTH - 260, height: Math.max(1, spec.rows.length) * rowH };
  const height = f.top + f.height + 56;
  const ticks = niceTicks(Math.max(0, ...spec.rows.flatMap((r) => r.values)));
  const top = ticks[ticks.length - 1];
  let out = svgOpen(spec.title, height, spec.kind);
  for (const t of ticks) {
    const x = f.left + (t / top) * f.width;
    out += `<line x1="${x}" x2="${x}" y1="${f.top}" y2="${f.top + f.height}" stroke="${GRID}"/>`;
    out += `<text x="${x}" y="${f.top + f.height + 16}" text-anchor="middle" fill="${AXIS}">${compactNumber(t)}</text>`;
  }
  const barH = (rowH * 0.75) / spec.series.length;
  spec.rows.forEach((r, ri) => {
    const y = f.top + ri * rowH;
    out += `<text x="${f.left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${escapeXml(r.label)}</text>`;
    r.values.forEach((v, si) => {
      const w = (v / top) * f.width;
      out += `<rect class="mark" x="${f.left}" y="${(y + rowH * 0.125 + barH * si).toFixed(2)}" width="${w.toFixed(2)}" height="${barH.toFixed(2)}" fill="${COLORS[si % COLORS.length]}"><title>${escapeXml(`${r.label}, ${spec.series[si]}: ${v}`)}</title></rect>`;
    });
  });
  out += `<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.top + f.height}" stroke="${AXIS}"/>`;
  out += xLabel(f, spec.xLabel, height);
  if (spec.series.length > 1) out += legend(f, spec.series);
  return out + '</svg>';
}
