// Charts for the benchmark report, drawn as plain SVG: a few bars or lines need no charting
// library, and the files stay small, diffable and readable on GitHub. Laid out here to read at a
// glance: ticks on every axis (chart-scale.ts), labels that never cover each other (chart-text.ts),
// legends under the plot rather than on the data, lines told apart by dash and marker as well as
// colour, and targets drawn where they lie, as dashed lines with their label (chart-drawing.ts).
import {
  axes,
  AXIS_INK,
  BODY_TOP,
  dashAttribute,
  drawing,
  drawTargets,
  legendRows,
  marker,
  MARKERS,
  plotLeft,
  round1,
  TARGET_INK,
  TICK,
  yAxis,
  yTitle,
  type LegendItem,
  type Target,
} from '@/bench/harness/chart-drawing';
import { formatTick, linearAxis, logAxis } from '@/bench/harness/chart-scale';
import { fitLines, LINE_HEIGHT, labelBox, textWidth, twoLineWidth, uprightBox, type Box, type Label } from '@/bench/harness/chart-text';

export type { Target } from '@/bench/harness/chart-drawing';

const WIDTH = 720;
/** Wider only when the x labels need it: GitHub shows about this much before it scales a chart down. */
const MAX_WIDTH = 960;
const PLOT_HEIGHT = 220;
const RIGHT = 24;
/** Between two y ticks: a label's height and some air. */
const Y_TICK_SPACING = 28;
/** Between groups of bars, in bar slots: enough to see where one group ends. */
const GROUP_GAP = 0.6;

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
/** Solid, dashed, dotted, dash-dot, …: a line is told apart in grey print and by colour-blind readers. */
const DASHES = ['', '8 4', '2 3', '10 3 2 3', '4 2', '12 4'];
/** Lines that run over each other: the first drawn widest, so the later, thinner ones show on top. */
const OVERLAP_WIDTHS = [4, 2.5, 1.5, 1.25];
/**
 * And each marks its points, taking turns: of n overlapping lines the k-th marks every n-th point
 * from its k-th, so where they coincide the markers alternate instead of covering each other.
 * Where points lie closer than MARKER_GAP, each turn skips points to keep that much between markers.
 */
const MARKER_SIZE = 3;
const MARKER_GAP = 10;
/** Two lines closer than this, in px, at the same x are drawn as overlapping. */
const OVERLAP_PX = 3;

export interface Bar {
  /** Consecutive bars with the same label are a group: one label under it, a gap around it. */
  label: string;
  value: number;
  /** A fill of its own, e.g. one colour per kind of bar; by default each bar takes the next. */
  color?: string;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** Which color is which series, drawn in a row under the chart, when bars carry their own colors. */
export interface LegendEntry {
  name: string;
  color: string;
  /** Drawn as a target's dashed line: to say what short target labels stand for. */
  dashed?: boolean;
}


export function barChart({
  title,
  unit,
  bars,
  logScale = false,
  legend = [],
  targets = [],
}: {
  title: string;
  /** What the values are, named on the y axis. */
  unit: string;
  bars: Bar[];
  logScale?: boolean;
  legend?: LegendEntry[];
  targets?: Target[];
}): string {
  const groups = groupsOf(bars);
  const gap = groups.some((group) => group.count > 1) ? GROUP_GAP : 0;
  const values = [...bars.map((bar) => bar.value), ...targets.map((target) => target.value)].filter(Number.isFinite);
  const axis = logScale ? logAxis(values, PLOT_HEIGHT) : linearAxis(0, Math.max(0, ...values), PLOT_HEIGHT, Y_TICK_SPACING);
  const left = plotLeft(axis);

  // As wide as the x labels need in two lines at most, up to MAX_WIDTH; past it they turn upright.
  const units = bars.length + gap * (groups.length - 1);
  const roomPerSlot = (group: Group) => (twoLineWidth(group.label) + 8) / (group.count + gap);
  const neededSlot = Math.max(0, ...groups.map(roomPerSlot));
  const needed = Math.ceil(left + neededSlot * units + RIGHT);
  const width = needed <= MAX_WIDTH ? Math.max(WIDTH, needed) : WIDTH;
  const plotWidth = width - left - RIGHT;
  const slot = plotWidth / Math.max(1, units);
  const slotLeft = (index: number) => left + slot * (index + gap * (groups.findIndex((group) => index < group.first + group.count)));
  const barWidth = slot * (gap > 0 ? 0.8 : 0.6);
  const centre = (index: number) => slotLeft(index) + slot / 2;

  // Value labels upright when any is wider than its slot: side by side they would touch.
  const valueTexts = bars.map((bar) => (Number.isFinite(bar.value) ? formatValue(bar.value) : 'n/a'));
  const upright = valueTexts.some((text) => textWidth(text) > slot - 4);
  const band = upright ? Math.max(...valueTexts.map((text) => textWidth(text))) + 10 : 20;
  const plotTop = BODY_TOP + band;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const chart = drawing(width, title);
  yAxis(chart, axis, { left, top: plotTop, right: left + plotWidth, bottom: plotBottom }, yTitle(unit, logScale));

  bars.forEach((bar, index) => {
    const height = Number.isFinite(bar.value) ? axis.position(bar.value) : 0;
    const x = centre(index) - barWidth / 2;
    const box = { left: x, right: x + barWidth, top: plotBottom - height, bottom: plotBottom };
    chart.data.push(box);
    chart.shapes.push(
      `<rect x="${round1(x)}" y="${round1(box.top)}" width="${round1(barWidth)}" height="${round1(height)}" fill="${bar.color ?? COLORS[index % COLORS.length]}"/>`,
    );
    const text = valueTexts[index] ?? '';
    if (upright) {
      chart.backdrop(uprightBox(text, centre(index) + 4, box.top - 4));
      chart.upright(text, centre(index) + 4, box.top - 4);
    } else {
      const label: Label = { text, x: centre(index), y: box.top - 6, anchor: 'middle' };
      chart.backdrop(labelBox(label));
      chart.text(label);
    }
  });

  // Under each group in a line or two; turned upright, ending at the axis, when even the widest
  // chart leaves a group too little room, and shortened only when a slot is too narrow for that.
  const room = (group: Group) => slot * (group.count + gap) - 8;
  const turned = groups.some((group) => twoLineWidth(group.label) > room(group)) && slot >= LINE_HEIGHT + 4;
  let labelsBottom = plotBottom + 6;
  for (const group of groups) {
    const x = (centre(group.first) + centre(group.first + group.count - 1)) / 2;
    chart.shapes.push(`<path d="M${round1(x)},${plotBottom}v${TICK}" stroke="${AXIS_INK}"/>`);
    if (turned) {
      chart.upright(group.label, x + 4, plotBottom + TICK + 4, 'end');
      labelsBottom = Math.max(labelsBottom, plotBottom + TICK + 4 + textWidth(group.label));
      continue;
    }
    const fitted = group.label ? fitLines(group.label, room(group)) : [];
    fitted.forEach((text, line) => chart.text({ text, x, y: plotBottom + 18 + line * LINE_HEIGHT, anchor: 'middle' }));
    labelsBottom = Math.max(labelsBottom, plotBottom + 18 + (fitted.length - 1) * LINE_HEIGHT + 4);
  }
  chart.shapes.push(axes(left, plotTop, left + plotWidth, plotBottom));

  const span = (target: Target): [number, number] =>
    target.bars ? [slotLeft(target.bars[0]), slotLeft(target.bars[1]) + slot] : [left, left + plotWidth];
  const unplaced = drawTargets(chart, targets, axis, span, { left, top: plotTop, right: left + plotWidth, bottom: plotBottom });
  const legendTop = labelsBottom + 20;
  const items: LegendItem[] = [...legend, ...unplaced.map((label) => ({ name: label, color: TARGET_INK, dashed: true }))];
  const bottom = legendRows(chart, items, left, legendTop, width - RIGHT);
  return chart.svg(bottom);
}

export function lineChart({
  title,
  xLabel,
  yLabel,
  series,
  targets = [],
}: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  targets?: Array<Omit<Target, 'bars'>>;
}): string {
  const finite = series.map((line) => line.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const xs = finite.flatMap((points) => points.map(([x]) => x));
  const ys = [...finite.flatMap((points) => points.map(([, y]) => y)), ...targets.map((target) => target.value)];
  const yAxisScale = linearAxis(0, Math.max(1, ...ys), PLOT_HEIGHT, Y_TICK_SPACING);
  const left = plotLeft(yAxisScale);
  const plotWidth = WIDTH - left - RIGHT;
  const xLow = Math.min(0, ...xs);
  const xHigh = Math.max(1, ...xs);
  const xAxisScale = linearAxis(xLow, xHigh, plotWidth, textWidth(formatTick(xHigh)) + 24);
  const plotTop = BODY_TOP + 8;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const px = (x: number) => left + xAxisScale.position(x);
  const py = (y: number) => plotBottom - yAxisScale.position(y);

  const chart = drawing(WIDTH, title);
  yAxis(chart, yAxisScale, { left, top: plotTop, right: left + plotWidth, bottom: plotBottom }, yLabel);
  for (const tick of xAxisScale.ticks) {
    chart.shapes.push(`<path d="M${round1(px(tick))},${plotBottom}v${TICK}" stroke="${AXIS_INK}"/>`);
    chart.text({ text: formatTick(tick), x: px(tick), y: plotBottom + 18, anchor: 'middle' });
  }
  chart.text({ text: xLabel, x: left + plotWidth / 2, y: plotBottom + 40, anchor: 'middle' });
  chart.shapes.push(axes(left, plotTop, left + plotWidth, plotBottom));

  const overlapping = overlappingSeries(finite.map((points) => points.map(([x, y]): [number, number] => [x, py(y)])));
  const rankOf = (index: number) => [...overlapping].filter((other) => other < index).length;
  const stride = markerStride(finite, px);
  const items: LegendItem[] = series.map((line, index) => {
    const rank = rankOf(index);
    const overlaps = overlapping.has(index);
    return {
      name: line.name,
      color: COLORS[index % COLORS.length] ?? TARGET_INK,
      dash: DASHES[index % DASHES.length] ?? '',
      width: overlaps ? (OVERLAP_WIDTHS[rank] ?? 1.25) : 2,
      marker: overlaps
        ? { shape: MARKERS[index % MARKERS.length] ?? 'circle', size: MARKER_SIZE, every: overlapping.size * stride, from: rank * stride }
        : undefined,
    };
  });
  series.forEach((line, index) => {
    const style = items[index] as LegendItem;
    const pixels = line.points.map(([x, y]): [number, number] => [px(x), Number.isFinite(y) && Number.isFinite(x) ? py(y) : Number.NaN]);
    const d = pixels
      .map(([x, y], at) => (Number.isFinite(y) ? `${at > 0 && Number.isFinite(pixels[at - 1]?.[1]) ? 'L' : 'M'}${round1(x)},${round1(y)}` : ''))
      .join('');
    chart.shapes.push(`<path d="${d}" fill="none" stroke="${style.color}" stroke-width="${style.width}"${dashAttribute(style.dash)} stroke-linejoin="round"/>`);
    const turn = style.marker;
    if (turn) {
      const marked = pixels.filter(([, y], at) => Number.isFinite(y) && at % turn.every === turn.from);
      chart.shapes.push(marked.map(([x, y]) => marker(x, y, turn, style.color)).join(''));
    }
    chart.data.push(...pathBoxes(pixels));
  });

  const unplaced = drawTargets(chart, targets, yAxisScale, () => [left, left + plotWidth], { left, top: plotTop, right: left + plotWidth, bottom: plotBottom });
  items.push(...unplaced.map((label) => ({ name: label, color: TARGET_INK, dashed: true })));
  return chart.svg(legendRows(chart, items, left, plotBottom + 64, WIDTH - RIGHT));
}

interface Group {
  label: string;
  first: number;
  count: number;
}

function groupsOf(bars: Bar[]): Group[] {
  const groups: Group[] = [];
  bars.forEach((bar, index) => {
    const last = groups.at(-1);
    if (last && last.label === bar.label && bar.label !== '') last.count += 1;
    else groups.push({ label: bar.label, first: index, count: 1 });
  });
  return groups;
}





/** The series (by index) that come within OVERLAP_PX of another at a shared x. */
function overlappingSeries(pixelSeries: Array<Array<[number, number]>>): Set<number> {
  const found = new Set<number>();
  const byX = pixelSeries.map((points) => new Map(points.map(([x, y]) => [x, y])));
  byX.forEach((mine, index) => {
    byX.slice(index + 1).forEach((theirs, offset) => {
      for (const [x, y] of mine) {
        const other = theirs.get(x);
        if (other !== undefined && Math.abs(other - y) <= OVERLAP_PX) {
          found.add(index).add(index + 1 + offset);
          return;
        }
      }
    });
  });
  return found;
}

/** Small boxes along a line, every few px, for labels to keep off it. */
function pathBoxes(pixels: Array<[number, number]>): Box[] {
  const boxes: Box[] = [];
  const around = (x: number, y: number) => ({ left: x - 2, right: x + 2, top: y - 2, bottom: y + 2 });
  pixels.forEach(([x, y], at) => {
    const previous = pixels[at - 1];
    if (!Number.isFinite(y)) return;
    if (!previous || !Number.isFinite(previous[1])) {
      boxes.push(around(x, y));
      return;
    }
    const steps = Math.max(1, Math.ceil(Math.hypot(x - previous[0], y - previous[1]) / 4));
    for (let step = 1; step <= steps; step += 1) {
      boxes.push(around(previous[0] + ((x - previous[0]) * step) / steps, previous[1] + ((y - previous[1]) * step) / steps));
    }
  });
  return boxes;
}

/** How many points apart two markers in turn must be to leave MARKER_GAP px between them. */
function markerStride(series: Array<Array<[number, number]>>, px: (x: number) => number): number {
  const gaps = series.flatMap((points) => points.slice(1).map(([x], at) => Math.abs(px(x) - px(points[at]?.[0] ?? x))));
  const closest = Math.min(...gaps.filter((gap) => gap > 0));
  return Number.isFinite(closest) ? Math.max(1, Math.ceil(MARKER_GAP / closest)) : 1;
}


function formatValue(value: number): string {
  if (Number.isInteger(value) && value < 10_000) return String(value);
  if (value >= 10_000) return `${Math.round(value / 1_000)}k`;
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

