// Charts for the benchmark report, drawn as plain SVG: a few bars or lines need no charting
// library, and the files stay small, diffable and readable on GitHub.

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { top: 48, right: 24, bottom: 72, left: 72 };
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
const FONT = 'font-family="system-ui, sans-serif" font-size="12" fill="#334155"';

export interface Bar {
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
}

export function barChart({
  title,
  unit,
  bars,
  logScale = false,
  legend = [],
}: {
  title: string;
  unit: string;
  bars: Bar[];
  logScale?: boolean;
  legend?: LegendEntry[];
}): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scale = valueScale(bars.map((bar) => bar.value), plotHeight, logScale);
  const slot = plotWidth / Math.max(1, bars.length);
  const body = bars
    .map((bar, index) => {
      const height = scale(bar.value);
      const x = MARGIN.left + index * slot + slot * 0.15;
      const y = MARGIN.top + plotHeight - height;
      return [
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${height.toFixed(1)}" fill="${bar.color ?? COLORS[index % COLORS.length]}"/>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${(y - 6).toFixed(1)}" text-anchor="middle" ${FONT}>${escape(formatValue(bar.value))} ${escape(unit)}</text>`,
        `<text x="${(x + slot * 0.35).toFixed(1)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle" ${FONT}>${escape(bar.label)}</text>`,
      ].join('');
    })
    .join('');
  return frame(title, `${axes(plotWidth, plotHeight)}${body}${legendRow(legend)}${logScale ? note('log scale') : ''}`);
}

/** Entries in rows under the x labels, wrapping to a second row when the first is full. */
function legendRow(entries: LegendEntry[]): string {
  let x = MARGIN.left;
  let y = HEIGHT - 34;
  return entries
    .map(({ name, color }) => {
      // About 7 px per character at this font size.
      const width = 14 + name.length * 7;
      if (x > MARGIN.left && x + width > WIDTH - MARGIN.right) {
        x = MARGIN.left;
        y += 16;
      }
      const item = `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${color}"/><text x="${x + 14}" y="${y}" ${FONT}>${escape(name)}</text>`;
      x += width + 18;
      return item;
    })
    .join('');
}

export function lineChart({ title, xLabel, yLabel, series }: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = series.flatMap((line) => line.points.map(([x]) => x));
  const ys = series.flatMap((line) => line.points.map(([, y]) => y));
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  const yMax = niceCeiling(Math.max(...ys, 1));
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin || 1)) * plotWidth;
  const py = (y: number) => MARGIN.top + plotHeight - (y / yMax) * plotHeight;
  const lines = series
    .map((line, index) => {
      const color = COLORS[index % COLORS.length];
      const d = line.points.map(([x, y], at) => `${at === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
      const legendY = MARGIN.top + 14 * index;
      return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/><rect x="${WIDTH - MARGIN.right - 150}" y="${legendY - 9}" width="10" height="10" fill="${color}"/><text x="${WIDTH - MARGIN.right - 135}" y="${legendY}" ${FONT}>${escape(line.name)}</text>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((share) => `<text x="${MARGIN.left - 8}" y="${(py(yMax * share) + 4).toFixed(1)}" text-anchor="end" ${FONT}>${escape(formatValue(yMax * share))}</text>`)
    .join('');
  const xTicks = [0, 0.5, 1]
    .map((share) => {
      const x = xMin + (xMax - xMin) * share;
      return `<text x="${px(x).toFixed(1)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle" ${FONT}>${escape(formatValue(x))}</text>`;
    })
    .join('');
  const labels =
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 24}" text-anchor="middle" ${FONT}>${escape(xLabel)}</text>` +
    `<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${escape(yLabel)}</text>`;
  return frame(title, `${axes(plotWidth, plotHeight)}${ticks}${xTicks}${labels}${lines}`);
}

function valueScale(values: number[], plotHeight: number, logScale: boolean): (value: number) => number {
  if (logScale) {
    const top = Math.log10(Math.max(...values, 10));
    return (value) => (value <= 1 ? 2 : (Math.log10(value) / top) * plotHeight);
  }
  const top = niceCeiling(Math.max(...values, 1));
  return (value) => Math.max(1, (value / top) * plotHeight);
}

function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function axes(plotWidth: number, plotHeight: number): string {
  const x0 = MARGIN.left;
  const y0 = MARGIN.top + plotHeight;
  return `<path d="M${x0},${MARGIN.top}V${y0}H${x0 + plotWidth}" fill="none" stroke="#94a3b8"/>`;
}

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}"><rect width="100%" height="100%" fill="#ffffff"/><text x="${WIDTH / 2}" y="24" text-anchor="middle" font-family="system-ui, sans-serif" font-size="15" font-weight="600" fill="#0f172a">${escape(title)}</text>${body}</svg>\n`;
}

function note(text: string): string {
  return `<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 8}" text-anchor="end" ${FONT}>${escape(text)}</text>`;
}

function formatValue(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1_000)}k`;
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
