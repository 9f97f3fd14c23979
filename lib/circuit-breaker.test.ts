// The circuit breaker against the real Valkey. Two connections stand for two worker processes;
// every call passes an explicit `now`, so time moves only when a test says so.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  breakerKey,
  CircuitBreaker,
  type BreakerState,
  type CircuitBreakerSettings,
  type BreakerSnapshot,
} from '@/lib/circuit-breaker';
import { loadConfig } from '@/lib/config';
import { createWorkerConnection, keysMatching, unlinkMatching, type Valkey } from '@/lib/valkey';

const settings: CircuitBreakerSettings = {
  windowMs: 10_000,
  minimumRequests: 10,
  failureRatio: 0.5,
  openMs: 5_000,
  probeLeaseMs: 30_000,
};
/** A bucket boundary (windowMs / 10 = 1 s), so window arithmetic in the tests is exact. */
const T0 = 1_700_000_000_000;

let processA: Valkey;
let processB: Valkey;
let keyPrefix: string;

beforeAll(() => {
  // The suite's Valkey, one server or a cluster (lib/config.ts).
  const valkey = loadConfig().valkey;
  processA = createWorkerConnection(valkey);
  processB = createWorkerConnection(valkey);
});
afterAll(() => {
  processA.disconnect();
  processB.disconnect();
});
beforeEach(() => {
  keyPrefix = `test-${randomUUID()}`;
});
afterEach(async () => {
  await unlinkMatching(processA, `${keyPrefix}:*`);
});

function breaker(
  options: { redis?: Valkey; onTransition?: (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void } = {},
) {
  return new CircuitBreaker({ redis: options.redis ?? processA, provider: 'crm', keyPrefix, settings, onTransition: options.onTransition });
}

async function record(target: CircuitBreaker, outcomes: { successes?: number; failures?: number }, now: number) {
  for (let i = 0; i < (outcomes.successes ?? 0); i += 1) await target.recordSuccess({ probe: false }, now);
  for (let i = 0; i < (outcomes.failures ?? 0); i += 1) await target.recordFailure({ probe: false }, now);
}

/** Opens the breaker at T0 and returns it, with the time its probe becomes due. */
async function openedBreaker(target = breaker()) {
  await record(target, { failures: settings.minimumRequests }, T0);
  expect((await target.snapshot(T0)).state).toBe('open');
  return { target, probeDueAt: T0 + settings.openMs };
}

describe('circuit breaker', () => {
  describe('while fewer calls than the minimum are in the window', () => {
    it('stays closed even if every call fails', async () => {
      const target = breaker();
      await record(target, { failures: settings.minimumRequests - 1 }, T0);

      expect(await target.snapshot(T0)).toMatchObject({ state: 'closed', callsInWindow: 9, failuresInWindow: 9, opens: 0 });
      expect(await target.acquire(T0)).toEqual({ allowed: true, probe: false });
    });
  });

  describe('when fewer than half the calls in the window fail', () => {
    it('stays closed', async () => {
      const target = breaker();
      await record(target, { successes: 6, failures: 4 }, T0);

      expect(await target.snapshot(T0)).toMatchObject({ state: 'closed', callsInWindow: 10, failuresInWindow: 4 });
    });
  });

  describe('when half the calls in the window fail', () => {
    it('opens', async () => {
      const target = breaker();
      await record(target, { successes: 5, failures: 4 }, T0);
      expect((await target.snapshot(T0)).state).toBe('closed');

      await target.recordFailure({ probe: false }, T0 + 1);

      expect(await target.snapshot(T0 + 1)).toEqual({
        provider: 'crm',
        state: 'open',
        callsInWindow: 0,
        failuresInWindow: 0,
        openedAt: T0 + 1,
        opens: 1,
        closes: 0,
      });
    });
  });

  describe('when open', () => {
    it('refuses every call with the time left until a probe is due', async () => {
      const { target } = await openedBreaker();

      expect(await target.acquire(T0 + 1_000)).toEqual({ allowed: false, retryInMs: 4_000, state: 'open' });
      expect(await target.acquire(T0 + settings.openMs - 1)).toEqual({ allowed: false, retryInMs: 1, state: 'open' });
    });

    it('ignores results of calls that started before it opened', async () => {
      const { target } = await openedBreaker();

      await record(target, { successes: 20, failures: 20 }, T0 + 100);

      expect(await target.snapshot(T0 + 100)).toMatchObject({ state: 'open', openedAt: T0, opens: 1, callsInWindow: 0 });
    });
  });

  describe('once openMs has passed', () => {
    it('lets exactly one of many concurrent callers, across processes, probe', async () => {
      const { probeDueAt } = await openedBreaker();
      const inProcessA = breaker({ redis: processA });
      const inProcessB = breaker({ redis: processB });

      const decisions = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? inProcessA : inProcessB).acquire(probeDueAt)),
      );

      expect(decisions.filter((decision) => decision.allowed)).toEqual([{ allowed: true, probe: true }]);
      expect(decisions.filter((decision) => !decision.allowed)).toHaveLength(19);
      for (const decision of decisions.filter((decision) => !decision.allowed)) {
        expect(decision).toEqual({ allowed: false, retryInMs: 1_000, state: 'half-open' });
      }
    });

    it('closes when the probe succeeds', async () => {
      const { target, probeDueAt } = await openedBreaker();
      const ticket = await target.acquire(probeDueAt);
      expect(ticket).toEqual({ allowed: true, probe: true });

      await target.recordSuccess({ probe: true }, probeDueAt + 200);

      expect(await target.snapshot(probeDueAt + 200)).toEqual({
        provider: 'crm',
        state: 'closed',
        callsInWindow: 0,
        failuresInWindow: 0,
        opens: 1,
        closes: 1,
      });
      expect(await target.acquire(probeDueAt + 201)).toEqual({ allowed: true, probe: false });
    });

    it('reopens for another openMs when the probe fails', async () => {
      const { target, probeDueAt } = await openedBreaker();
      await target.acquire(probeDueAt);

      await target.recordFailure({ probe: true }, probeDueAt + 200);

      expect(await target.snapshot(probeDueAt + 200)).toMatchObject({ state: 'open', openedAt: probeDueAt + 200, opens: 2 });
      expect(await target.acquire(probeDueAt + 200)).toEqual({ allowed: false, retryInMs: settings.openMs, state: 'open' });
    });

    it('keeps the probe slot while other calls started before it report back', async () => {
      const { target, probeDueAt } = await openedBreaker();
      await target.acquire(probeDueAt);

      await record(target, { successes: 5, failures: 5 }, probeDueAt + 100);

      expect((await target.snapshot(probeDueAt + 100)).state).toBe('half-open');
      expect(await target.acquire(probeDueAt + 100)).toMatchObject({ allowed: false, state: 'half-open' });
    });

    it('gives the probe to another caller once the slot of a vanished probe expires', async () => {
      const { probeDueAt } = await openedBreaker();
      const crashed = breaker({ redis: processA });
      const survivor = breaker({ redis: processB });
      expect(await crashed.acquire(probeDueAt)).toEqual({ allowed: true, probe: true });

      const leaseEndsAt = probeDueAt + settings.probeLeaseMs;
      expect(await survivor.acquire(leaseEndsAt - 1)).toEqual({ allowed: false, retryInMs: 1, state: 'half-open' });
      expect(await survivor.acquire(leaseEndsAt)).toEqual({ allowed: true, probe: true });
      expect(await survivor.acquire(leaseEndsAt)).toMatchObject({ allowed: false, state: 'half-open' });
    });
  });

  describe('sliding window', () => {
    it('counts failures up to windowMs old', async () => {
      const target = breaker();
      await record(target, { failures: 9 }, T0);

      await target.recordFailure({ probe: false }, T0 + settings.windowMs - 1);

      expect((await target.snapshot(T0 + settings.windowMs - 1)).state).toBe('open');
    });

    it('forgets failures older than windowMs', async () => {
      const target = breaker();
      await record(target, { failures: 9 }, T0);

      await target.recordFailure({ probe: false }, T0 + settings.windowMs);

      expect(await target.snapshot(T0 + settings.windowMs)).toMatchObject({
        state: 'closed',
        callsInWindow: 1,
        failuresInWindow: 1,
      });
      const fields = await processA.hkeys(breakerKey(keyPrefix, 'crm'));
      expect(fields.filter((field) => field.includes(':'))).toHaveLength(2);
    });
  });

  describe('onTransition', () => {
    it('hears every change of state, in the process that caused it, with a snapshot', async () => {
      const heard: [BreakerState, BreakerState, BreakerSnapshot][] = [];
      const target = breaker({ onTransition: (from, to, snapshot) => heard.push([from, to, snapshot]) });
      const { probeDueAt } = await openedBreaker(target);
      await target.acquire(probeDueAt);
      await target.recordFailure({ probe: true }, probeDueAt);
      await target.acquire(probeDueAt + settings.openMs);
      await target.acquire(probeDueAt + settings.openMs);
      await target.recordSuccess({ probe: true }, probeDueAt + settings.openMs);

      expect(heard.map(([from, to]) => `${from}→${to}`)).toEqual([
        'closed→open',
        'open→half-open',
        'half-open→open',
        'open→half-open',
        'half-open→closed',
      ]);
      expect(heard[0]?.[2]).toMatchObject({ provider: 'crm', state: 'open', openedAt: T0, opens: 1 });
      expect(heard.at(-1)?.[2]).toMatchObject({ state: 'closed', opens: 2, closes: 1 });
    });
  });

  describe('state', () => {
    it('lives in one hash-tagged key that expires when abandoned', async () => {
      await openedBreaker();

      const keys = await keysMatching(processA, `${keyPrefix}:*`);
      expect(keys).toEqual([`${keyPrefix}:{breaker:crm}`]);
      const ttl = await processA.pttl(`${keyPrefix}:{breaker:crm}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(24 * 60 * 60 * 1_000);
    });

    it('survives the server forgetting its script (restart, failover, SCRIPT FLUSH)', async () => {
      const target = breaker();
      await target.recordFailure({ probe: false }, T0);
      await processA.script('FLUSH');

      await target.recordFailure({ probe: false }, T0);

      expect(await target.snapshot(T0)).toMatchObject({ failuresInWindow: 2 });
    });

    it('is the same for every process', async () => {
      await openedBreaker(breaker({ redis: processA }));

      expect(await breaker({ redis: processB }).acquire(T0 + 1)).toMatchObject({ allowed: false, state: 'open' });
    });
  });

  describe('a report of many results at once', () => {
    it('counts them like as many single results, and opens when they tip the window', async () => {
      const target = breaker();
      expect(await target.report({ successes: 5, failures: 4 }, T0)).toMatchObject({ state: 'closed', callsInWindow: 9, failuresInWindow: 4 });
      expect(await target.report({ successes: 0, failures: 1 }, T0)).toMatchObject({ state: 'open' });
    });

    it('counts nothing while open: results of calls that started before it opened say nothing about now', async () => {
      const { target } = await openedBreaker();
      expect(await target.report({ successes: 20, failures: 0 }, T0 + 1)).toMatchObject({ state: 'open', callsInWindow: 0 });
    });

    it('stays closed at a failure ratio under the threshold however large the batch', async () => {
      expect(await breaker().report({ successes: 600, failures: 400 }, T0)).toMatchObject({ state: 'closed', callsInWindow: 1_000 });
    });
  });
});
