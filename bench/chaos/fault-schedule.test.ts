import { describe, expect, it } from 'vitest';
import { CHAOS_PROVIDERS, FAULT_TYPES, faultSchedule, QUIET_END_MS, QUIET_START_MS, type FaultWindow } from './fault-schedule';

const typeOf = (window: FaultWindow) =>
  window.kind === 'provider' ? `provider-${window.mode}` : window.kind === 'kill' || window.kind === 'stop' ? `${window.kind}-${window.target === 'web' ? 'web' : 'worker'}` : window.kind;

const overlaps = (a: FaultWindow, b: FaultWindow) => a.startMs < b.endMs && b.startMs < a.endMs;

describe('faultSchedule', () => {
  it('draws the same schedule from the same seed', () => {
    expect(faultSchedule({ seed: 42, minutes: 5, workers: 2 })).toEqual(faultSchedule({ seed: 42, minutes: 5, workers: 2 }));
  });

  it('draws a different schedule from another seed', () => {
    expect(faultSchedule({ seed: 1, minutes: 5, workers: 2 })).not.toEqual(faultSchedule({ seed: 2, minutes: 5, workers: 2 }));
  });

  describe.each([1, 7, 21, 1_000, 123_456_789])('for seed %i over two minutes', (seed) => {
    const windows = faultSchedule({ seed, minutes: 2, workers: 2 });

    it('holds every type of fault at least once', () => {
      expect(new Set(windows.map(typeOf))).toEqual(new Set(FAULT_TYPES));
    });

    it('overlaps faults on different targets', () => {
      const overlapping = windows.filter((window) => windows.some((other) => other !== window && overlaps(window, other)));
      expect(overlapping.length).toBeGreaterThanOrEqual(windows.length / 2);
    });

    it('never puts two faults on one target at once', () => {
      for (const window of windows) {
        expect(windows.filter((other) => other !== window && other.target === window.target && overlaps(window, other))).toEqual([]);
      }
    });

    it('keeps faults inside the run, with quiet load before and after', () => {
      for (const window of windows) {
        expect(window.startMs).toBeGreaterThanOrEqual(QUIET_START_MS);
        expect(window.endMs).toBeLessThanOrEqual(2 * 60_000 - QUIET_END_MS);
        expect(window.endMs).toBeGreaterThan(window.startMs);
      }
    });

    it('names only known targets', () => {
      const targets = new Set<string>(['web', 'worker-0', 'worker-1', 'valkey', 'postgres', ...CHAOS_PROVIDERS]);
      for (const window of windows) expect(targets.has(window.target)).toBe(true);
    });
  });

  it('fills a longer run with more faults', () => {
    expect(faultSchedule({ seed: 3, minutes: 30, workers: 3 }).length).toBeGreaterThan(faultSchedule({ seed: 3, minutes: 2, workers: 3 }).length * 5);
  });

  it('refuses fewer than two workers and a bad seed', () => {
    expect(() => faultSchedule({ seed: 1, minutes: 2, workers: 1 })).toThrow(/2 or more/);
    expect(() => faultSchedule({ seed: -1, minutes: 2, workers: 2 })).toThrow(/seed/);
  });
});
