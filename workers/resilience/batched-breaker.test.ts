// A worker process's batched view of the shared breaker, against the real Valkey: no round trip
// per call while closed, failures and probes reported at once, and a refusal never taken from
// memory.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { loadConfig } from '@/lib/config';
import { createWorkerConnection, unlinkMatching, type Valkey } from '@/lib/valkey';
import { BatchedBreaker } from '@/workers/resilience/batched-breaker';
import { countRoundTrips } from '@/tests/helpers/round-trips';

const settings = { windowMs: 10_000, minimumRequests: 10, failureRatio: 0.5, openMs: 5_000, probeLeaseMs: 30_000 };
let connection: Valkey;
const prefixes: string[] = [];

beforeAll(() => {
  connection = createWorkerConnection(loadConfig().valkey);
});
afterAll(async () => {
  for (const prefix of prefixes) await unlinkMatching(connection, `${prefix}:*`);
  connection.disconnect();
});

function pair(options: { reportEveryMs?: number; freshForMs?: number } = {}) {
  const keyPrefix = `test-${randomUUID()}`;
  prefixes.push(keyPrefix);
  const shared = new CircuitBreaker({ redis: connection, provider: 'crm', keyPrefix, settings });
  return { shared, view: new BatchedBreaker(shared, { reportEveryMs: 50, ...options }) };
}

describe('a batched breaker view', () => {
  it('asks Valkey once, then lets calls through from memory while the breaker is closed', async () => {
    const { view } = pair();
    expect(await view.acquire()).toEqual({ allowed: true, probe: false });
    const { trips } = await countRoundTrips(async () => {
      for (let call = 0; call < 20; call += 1) {
        expect(await view.acquire()).toEqual({ allowed: true, probe: false });
        await view.recordSuccess({ probe: false });
      }
    });
    expect(trips.valkey.commands).toBe(0);
  });

  it('reports the successes it gathered, together, soon after', async () => {
    const { shared, view } = pair();
    await view.acquire();
    for (let call = 0; call < 7; call += 1) await view.recordSuccess({ probe: false });
    expect((await shared.snapshot()).callsInWindow).toBe(0);
    await view.close();
    expect(await shared.snapshot()).toMatchObject({ callsInWindow: 7, failuresInWindow: 0 });
  });

  it('reports a failure at once, with the successes so far, and opens the breaker on the one that tips it', async () => {
    const { shared, view } = pair({ reportEveryMs: 60_000 });
    await view.acquire();
    for (let call = 0; call < 5; call += 1) await view.recordSuccess({ probe: false });
    for (let call = 0; call < 4; call += 1) await view.recordFailure({ probe: false });
    expect(await shared.snapshot()).toMatchObject({ state: 'closed', callsInWindow: 9, failuresInWindow: 4 });
    for (let call = 0; call < 2; call += 1) await view.recordFailure({ probe: false });
    expect((await shared.snapshot()).state).toBe('open');
    expect(await view.acquire()).toMatchObject({ allowed: false, state: 'open' });
  });

  it('asks again once its view is older than freshForMs, so another process opening it is seen', async () => {
    const { shared, view } = pair({ freshForMs: 100 });
    expect(await view.acquire()).toMatchObject({ allowed: true });
    for (let call = 0; call < settings.minimumRequests; call += 1) await shared.recordFailure({ probe: false });
    expect(await view.acquire()).toMatchObject({ allowed: true });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await view.acquire()).toMatchObject({ allowed: false, state: 'open' });
  });

  it('never takes a refusal or a probe from memory: each is decided by the shared script', async () => {
    const { shared, view } = pair();
    const now = Date.now();
    for (let call = 0; call < settings.minimumRequests; call += 1) await shared.recordFailure({ probe: false }, now - settings.openMs);
    const probe = await view.acquire();
    expect(probe).toEqual({ allowed: true, probe: true });
    expect(await view.acquire()).toMatchObject({ allowed: false, state: 'half-open' });
    await view.recordSuccess({ probe: true });
    expect((await shared.snapshot()).state).toBe('closed');
  });
});
