import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@/lib/config';
import { backoffDelayMs, expectedRetryWindowMs, RETRY_POLICIES } from '@/workers/resilience/retry-policy';

const policy = { attempts: 10, baseMs: 1_000, capMs: 60_000 };

describe('retry policy', () => {
  describe('backoffDelayMs', () => {
    it('doubles the ceiling with each attempt', () => {
      const atCeiling = () => 0.999_999;
      expect([1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, policy, atCeiling))).toEqual([999, 1_999, 3_999, 7_999]);
    });

    it('never exceeds the cap, however many attempts were made', () => {
      expect(backoffDelayMs(7, policy, () => 0.999_999)).toBe(59_999);
      expect(backoffDelayMs(2_000, policy, () => 0.999_999)).toBe(59_999);
    });

    it('spreads retries over the whole range below the ceiling (full jitter)', () => {
      expect(backoffDelayMs(4, policy, () => 0)).toBe(0);
      expect(backoffDelayMs(4, policy, () => 0.5)).toBe(4_000);
      const samples = Array.from({ length: 2_000 }, () => backoffDelayMs(4, policy));
      expect(Math.min(...samples)).toBeLessThan(800);
      expect(Math.max(...samples)).toBeGreaterThan(7_200);
    });
  });

  it.each(QUEUE_NAMES)('gives the %s queue at least an hour of retries before dead-lettering', (queue) => {
    expect(expectedRetryWindowMs(RETRY_POLICIES[queue])).toBeGreaterThanOrEqual(60 * 60 * 1_000);
  });
});
