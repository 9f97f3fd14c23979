// What every benchmark chart is drawn with (svg-chart.ts lays them out): the drawing that keeps
// its shapes under its text and remembers where text went, the value axis with its ticks, target
// lines with their labels, the legend rows and the markers of overlapping lines.
import { formatTick, type Axis } from '@/bench/harness/chart-scale';
import { escapeText, FONT_SIZE, LINE_HEIGHT, labelBox, placeLabel, textWidth, uprightBox, type Box, type Label } from '@/bench/harness/chart-text';

const TITLE_SIZE = 15;
/** The plot, or the value labels above its bars, start below the title's descenders. */
export const BODY_TOP = 40;
/** Tick marks, out from the axis. */
export const TICK = 5;
export const AXIS_INK = '#94a3b8';
/** The y axis's name, turned upright, centred on this x. */
const Y_TITLE_X = 18;
/** Between a tick's label and the tick. */
const TICK_GAP = 4;
const INK = '#334155';
export const TARGET_INK = '#0f172a';
const TARGET_DASH = '6 4';
const FONT = `font-family="system-ui, sans-serif" font-size="${FONT_SIZE}" fill="${INK}"`;
/** A white outline behind a label, so that a line or bar it crosses does not cut through its letters. */
const HALO = 'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"';
export const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'circle', 'square'] as const;

/** A value to stay under (or reach), drawn as a horizontal dashed line with its label. */
export interface Target {
  value: number;
  label: string;
  /** Bar charts: the first and last bar (by index) it is judged on; by default the whole plot. */
  bars?: [number, number];
}

/** A legend entry: a colour swatch, a target's dashed line, or a series' line with its marker. */
export interface LegendItem {
  name: string;
  color: string;
  dashed?: boolean;
  dash?: string;
  width?: number;
  marker?: Marker;
}

/** A series' marker: its shape and size, drawn at every `every`-th point from the `from`-th. */
export interface Marker {
  shape: (typeof MARKERS)[number];
  size: number;
  every: number;
  from: number;
}

/** What is drawn so far: shapes under the text, and the boxes later labels must keep clear of. */
export function drawing(width: number, title: string) {
  const shapes: string[] = [];
  const labels: string[] = [];
  const taken: Box[] = [labelBox({ text: title, x: width / 2, y: 24, anchor: 'middle' }, TITLE_SIZE)];
  const data: Box[] = [];
  return {
    width,
    shapes,
    taken,
    data,
    text(label: Label, attributes = '') {
      taken.push(labelBox(label));
      labels.push(`<text x="${round1(label.x)}" y="${round1(label.y)}" text-anchor="${label.anchor}" ${FONT}${attributes}>${escapeText(label.text)}</text>`);
    },
    upright(text: string, x: number, y: number, anchor: 'start' | 'end' = 'start') {
      taken.push(uprightBox(text, x, y, anchor));
      labels.push(`<text transform="translate(${round1(x)} ${round1(y)}) rotate(-90)" text-anchor="${anchor}" ${FONT}>${escapeText(text)}</text>`);
    },
    /** White under a label to come, so that a target line through it stops short of its letters. */
    backdrop(box: Box) {
      labels.push(`<rect x="${round1(box.left - 1)}" y="${round1(box.top)}" width="${round1(box.right - box.left + 2)}" height="${round1(box.bottom - box.top)}" fill="#ffffff"/>`);
    },
    svg(height: number) {
      return (
        `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
        `<rect width="100%" height="100%" fill="#ffffff"/>` +
        `<text x="${width / 2}" y="24" text-anchor="middle" font-family="system-ui, sans-serif" font-size="${TITLE_SIZE}" font-weight="600" fill="#0f172a">${escapeText(title)}</text>` +
        `${shapes.join('')}${labels.join('')}</svg>\n`
      );
    },
  };
}
export type Drawing = ReturnType<typeof drawing>;

/** Room on the left for the y axis's name and its widest tick label. */
export function plotLeft(axis: Axis): number {
  return Math.ceil(Y_TITLE_X + 10 + Math.max(...axis.ticks.map((tick) => textWidth(formatTick(tick)))) + TICK_GAP + TICK + 4);
}

export function yTitle(unit: string, logScale: boolean): string {
  return [unit, logScale ? 'log scale' : ''].filter(Boolean).join(', ');
}

export function yAxis(chart: Drawing, axis: Axis, plot: Box, name: string): void {
  for (const tick of axis.ticks) {
    const y = plot.bottom - axis.position(tick);
    if (y > plot.top + 0.5 && y < plot.bottom - 0.5) chart.shapes.push(`<path d="M${plot.left},${round1(y)}H${plot.right}" stroke="#e2e8f0"/>`);
    chart.shapes.push(`<path d="M${plot.left - TICK},${round1(y)}h${TICK}" stroke="${AXIS_INK}"/>`);
    chart.text({ text: formatTick(tick), x: plot.left - TICK - TICK_GAP, y: y + 4, anchor: 'end' });
  }
  if (!name) return;
  const middle = (plot.top + plot.bottom) / 2;
  // Upright and centred on the plot; its box is the one it takes once turned.
  chart.taken.push({ left: Y_TITLE_X - 8, right: Y_TITLE_X + 5, top: middle - textWidth(name) / 2, bottom: middle + textWidth(name) / 2 });
  chart.shapes.push(`<text transform="translate(${Y_TITLE_X + 4} ${round1(middle)}) rotate(-90)" text-anchor="middle" ${FONT}>${escapeText(name)}</text>`);
}

export function axes(left: number, top: number, right: number, bottom: number): string {
  return `<path d="M${round1(left)},${round1(top)}V${round1(bottom)}H${round1(right)}" fill="none" stroke="${AXIS_INK}"/>`;
}

/**
 * Each target's dashed line across its span, and its label beside the line where it covers no
 * other text; the labels that found no such place are returned, for the legend.
 */
export function drawTargets(chart: Drawing, targets: Target[], axis: Axis, span: (target: Target) => [number, number], plot: Box): string[] {
  const unplaced: string[] = [];
  for (const target of targets) {
    const y = plot.bottom - axis.position(target.value);
    const [from, to] = span(target);
    chart.shapes.push(`<path d="M${round1(from)},${round1(y)}H${round1(to)}" stroke="${TARGET_INK}" stroke-width="1.5" stroke-dasharray="${TARGET_DASH}"/>`);
    const middle = (from + to) / 2;
    // Nearest first: just above the line, then below it, then a line of text further off each time.
    const offsets = [-5, 14, -5 - LINE_HEIGHT, 14 + LINE_HEIGHT, -5 - 2 * LINE_HEIGHT, 14 + 2 * LINE_HEIGHT];
    const candidates = offsets.flatMap((offset): Label[] => [
      { text: target.label, x: to - 2, y: y + offset, anchor: 'end', bold: true },
      { text: target.label, x: from + 2, y: y + offset, anchor: 'start', bold: true },
      { text: target.label, x: middle, y: y + offset, anchor: 'middle', bold: true },
    ]);
    const bounds = { left: plot.left, top: BODY_TOP - 8, right: chart.width - 2, bottom: plot.bottom - 2 };
    const placed = placeLabel(candidates, { text: chart.taken, data: chart.data, bounds });
    if (placed) chart.text(placed, ` font-weight="600" ${HALO}`);
    else unplaced.push(target.label);
  }
  return unplaced;
}

/** Entries in rows from (left, top), a new row when the next would pass `right`; returns the bottom. */
export function legendRows(chart: Drawing, items: LegendItem[], left: number, top: number, right: number): number {
  if (items.length === 0) return top - 8;
  let x = left;
  let y = top;
  for (const item of items) {
    const swatch = item.dash !== undefined || item.dashed ? 28 : 10;
    const width = swatch + 4 + textWidth(item.name);
    if (x > left && x + width > right) {
      x = left;
      y += 18;
    }
    if (item.dashed) {
      chart.shapes.push(`<path d="M${x},${y - 4}h${swatch}" stroke="${item.color}" stroke-width="1.5" stroke-dasharray="${TARGET_DASH}"/>`);
    } else if (item.dash !== undefined) {
      chart.shapes.push(`<path d="M${x},${y - 4}h${swatch}" stroke="${item.color}" stroke-width="${Math.max(2, item.width ?? 2)}"${dashAttribute(item.dash)}/>`);
      if (item.marker) chart.shapes.push(marker(x + swatch / 2, y - 4, item.marker, item.color));
    } else {
      chart.shapes.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${item.color}"/>`);
    }
    chart.text({ text: item.name, x: x + swatch + 4, y, anchor: 'start' });
    x += width + 18;
  }
  return y + 12;
}

export function marker(x: number, y: number, { shape, size }: Marker, color: string): string {
  const fill = `fill="${color}" stroke="#ffffff" stroke-width="0.75"`;
  if (shape === 'circle') return `<circle cx="${round1(x)}" cy="${round1(y)}" r="${size}" ${fill}/>`;
  if (shape === 'square') return `<rect x="${round1(x - size)}" y="${round1(y - size)}" width="${2 * size}" height="${2 * size}" ${fill}/>`;
  if (shape === 'triangle') return `<path d="M${round1(x)},${round1(y - size * 1.2)}L${round1(x + size * 1.1)},${round1(y + size * 0.8)}H${round1(x - size * 1.1)}Z" ${fill}/>`;
  return `<path d="M${round1(x)},${round1(y - size * 1.3)}L${round1(x + size)},${round1(y)}L${round1(x)},${round1(y + size * 1.3)}L${round1(x - size)},${round1(y)}Z" ${fill}/>`;
}

export function dashAttribute(dash: string | undefined): string {
  return dash ? ` stroke-dasharray="${dash}"` : '';
}

/** One decimal: enough for a pixel, and the files stay small. */
export function round1(value: number): string {
  return String(Math.round(value * 10) / 10);
}
