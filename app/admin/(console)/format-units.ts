// How the admin pages write numbers, durations, rates and times: always with a unit, and the same
// on the server and in the browser (a fixed locale, so a hydrated page never disagrees with its
// server render).

const LOCALE = 'en-US';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 });

export function count(value: number): string {
  return integer.format(value);
}

/** "3 jobs", "1 job". */
export function plural(value: number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 ? '' : 's'}`;
}

/** A latency or an age: "240 ms", "4.2 s", "12 min", "3 h". */
export function duration(ms: number): string {
  if (ms < 1_000) return `${integer.format(ms)} ms`;
  if (ms < 60_000) return `${oneDecimal.format(ms / 1_000)} s`;
  if (ms < 2 * 3_600_000) return `${integer.format(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${integer.format(ms / 3_600_000)} h`;
  return `${integer.format(ms / 86_400_000)} d`;
}

/** Jobs per minute, with one decimal below ten so a trickle does not read as zero. */
export function perMinute(value: number): string {
  return `${value > 0 && value < 10 ? oneDecimal.format(value) : integer.format(value)}/min`;
}

export function percent(ratio: number): string {
  const value = ratio * 100;
  return `${value > 0 && value < 10 ? oneDecimal.format(value) : integer.format(value)} %`;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago"; a time ahead of `now` reads "in …". */
export function relativeTime(at: number | string | Date, now: number): string {
  const time = typeof at === 'number' ? at : new Date(at).getTime();
  const delta = now - time;
  if (Math.abs(delta) < 2_000) return 'just now';
  const span = Math.abs(delta);
  const text =
    span < 60_000
      ? `${integer.format(span / 1_000)} s`
      : span < 3_600_000
        ? `${integer.format(span / 60_000)} min`
        : span < 86_400_000
          ? `${integer.format(span / 3_600_000)} h`
          : `${integer.format(span / 86_400_000)} d`;
  return delta > 0 ? `${text} ago` : `in ${text}`;
}

/** An absolute time for a tooltip or a detail page: "2025-11-28 04:11:09 UTC". */
export function timestamp(at: string | Date): string {
  const iso = (typeof at === 'string' ? new Date(at) : at).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}
