// The axes of the benchmark charts: where a value lands and which values are marked. A linear axis
// steps by 1, 2, 2.5 or 5 times a power of ten, so its ticks read as round numbers; a log axis marks
// every decade (1, 10, 100, …), the only ticks a reader can place on it without counting.

export interface Axis {
  /** The marked values, lowest first; the first and the last are the axis's ends. */
  ticks: number[];
  /** How far along the axis, 0 to its length in px, a value lies; ends clamp what falls outside. */
  position(value: number): number;
  log: boolean;
}

/** Every axis marks at least three values: two would only give its ends. */
const MIN_TICKS = 3;
/** About five intervals: enough to read a value off, few enough to label without crowding. */
const INTERVALS = 5;
const STEPS = [1, 2, 2.5, 5, 10];

/** From `low` to `high`, rounded out to whole steps, at least `minSpacing` px between ticks. */
export function linearAxis(low: number, high: number, length: number, minSpacing: number): Axis {
  let step = niceStep((high - low) / INTERVALS || Math.abs(high) / INTERVALS || 1);
  const span = (size: number) => ({ bottom: Math.floor(low / size) * size, top: Math.ceil(high / size) * size });
  while (length / ((span(step).top - span(step).bottom) / step) < minSpacing) step = niceStep(step * 1.01);
  const { bottom } = span(step);
  const top = Math.max(span(step).top, bottom + (MIN_TICKS - 1) * step);
  const ticks = Array.from({ length: Math.round((top - bottom) / step) + 1 }, (_, index) => round(bottom + index * step));
  const clamp = (value: number) => Math.min(top, Math.max(bottom, value));
  return { ticks, log: false, position: (value) => ((clamp(value) - bottom) / (top - bottom)) * length };
}

/** Whole decades around every positive value; zero and below sit at the axis's start. */
export function logAxis(values: number[], length: number): Axis {
  const positive = values.filter((value) => Number.isFinite(value) && value > 0);
  const high = positive.length > 0 ? Math.ceil(Math.log10(Math.max(...positive))) : MIN_TICKS - 1;
  const low = Math.min(positive.length > 0 ? Math.floor(Math.log10(Math.min(...positive))) : 0, high - (MIN_TICKS - 1));
  const ticks = Array.from({ length: high - low + 1 }, (_, index) => round(10 ** (low + index)));
  const position = (value: number) =>
    value > 0 ? (Math.min(high, Math.max(low, Math.log10(value))) - low) / (high - low) * length : 0;
  return { ticks, log: true, position };
}

/** 1,000 and up in k, a million and up in M, as a tick's label. */
export function formatTick(value: number): string {
  if (Math.abs(value) >= 1e6) return `${round(value / 1e6)}M`;
  if (Math.abs(value) >= 1e3) return `${round(value / 1e3)}k`;
  return String(round(value));
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  return (STEPS.find((step) => step * power >= raw) ?? 10) * power;
}

/** Without the binary fractions' tails: 0.30000000000000004 is 0.3. */
function round(value: number): number {
  return Number(value.toPrecision(10));
}
