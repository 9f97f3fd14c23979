import { describe, expect, it } from 'vitest';
import { closeWithGrace, settlesWithin, sleep, withDeadline } from '@/lib/deadline';

const never = () => new Promise<never>(() => undefined);

describe('withDeadline', () => {
  it('passes on the result, or throws the given error when the work is late', async () => {
    expect(await withDeadline(Promise.resolve(7), 100, () => new Error('late'))).toBe(7);
    await expect(withDeadline(never(), 20, () => new Error('late'))).rejects.toThrow('late');
  });
});

describe('settlesWithin', () => {
  it('counts a rejection as settled, and only lateness as not', async () => {
    expect(await settlesWithin(Promise.reject(new Error('refused')), 100)).toBe(true);
    expect(await settlesWithin(never(), 20)).toBe(false);
  });
});

describe('sleep', () => {
  it('ends early when its signal fires', async () => {
    const cut = new AbortController();
    const started = Date.now();
    setTimeout(() => cut.abort(), 20);
    await sleep(10_000, cut.signal);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('closeWithGrace', () => {
  it('closes gracefully when it can', async () => {
    expect(await closeWithGrace({ close: async () => undefined, forceClose: never }, { graceMs: 100 })).toBe('closed');
  });

  it('forces a close that outlasts its grace, and gives up on one that hangs either way', async () => {
    let forced = false;
    const forcing = { close: never, forceClose: async () => void (forced = true) };
    expect(await closeWithGrace(forcing, { graceMs: 20 })).toBe('forced');
    expect(forced).toBe(true);
    const started = Date.now();
    expect(await closeWithGrace({ close: never, forceClose: never }, { graceMs: 20, forceMs: 20 })).toBe('abandoned');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
