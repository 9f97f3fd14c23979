// A Logger for a long benchmark run that would otherwise flood the terminal: it counts warnings
// and errors by message, prints only the first of each, and keeps the counts for the results.
// Info lines are dropped.
import type { Logger } from '@/lib/log';

export type CountingLog = Logger & { counts: Record<string, number> };

/** Counts warnings and errors by message and prints the first of each, so a run stays readable. */
export function countingLog(): CountingLog {
  const counts: Record<string, number> = {};
  const note = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const key = `${level}: ${message}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (counts[key] === 1) console.log(key, JSON.stringify(fields ?? {}));
  };
  return { counts, debug: () => undefined, info: () => undefined, warn: note('warn'), error: note('error') };
}
