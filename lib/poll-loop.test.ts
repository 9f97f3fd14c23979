import { describe, expect, it } from 'vitest';
import { startPollLoop } from '@/lib/poll-loop';

describe('startPollLoop', () => {
  it('runs again at once after a full batch, and waits idleMs after an idle pass', async () => {
    const starts: number[] = [];
    let stop: (() => void) | undefined;
    const done = new Promise<void>((resolve) => (stop = resolve));
    const loop = startPollLoop({
      idleMs: 200,
      maxBackoffMs: 1_000,
      async pass() {
        starts.push(Date.now());
        if (starts.length === 3) stop?.();
        return starts.length === 1 ? 'again' : 'idle';
      },
      onFailure: () => undefined,
    });
    await done;
    await loop.stop();
    expect((starts[1] ?? 0) - (starts[0] ?? 0)).toBeLessThan(100);
    expect((starts[2] ?? 0) - (starts[1] ?? 0)).toBeGreaterThanOrEqual(190);
  });

  it('backs off with full jitter up to its ceiling, honours a wait the failure asks for, and says when it recovers', async () => {
    const waits: number[] = [];
    const recovered: number[] = [];
    let passes = 0;
    let stop: (() => void) | undefined;
    const done = new Promise<void>((resolve) => (stop = resolve));
    const loop = startPollLoop({
      idleMs: 10,
      maxBackoffMs: 30,
      random: () => 1,
      async pass() {
        passes += 1;
        if (passes <= 4) throw new Error(passes === 4 ? 'slow down' : 'down');
        stop?.();
        return 'idle';
      },
      minimumWaitAfter: (error) => ((error as Error).message === 'slow down' ? 50 : undefined),
      onFailure: (_error, _failures, waitMs) => waits.push(waitMs),
      onRecovery: (failures) => recovered.push(failures),
    });
    await done;
    await loop.stop();
    // 10 × 2^n, capped at 30; the fourth failure asked for 50.
    expect(waits).toEqual([20, 30, 30, 50]);
    expect(recovered).toEqual([4]);
  });

  it('stops during a wait without running another pass', async () => {
    let passes = 0;
    const loop = startPollLoop({
      idleMs: 60_000,
      maxBackoffMs: 60_000,
      async pass() {
        passes += 1;
        return 'idle';
      },
      onFailure: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = Date.now();
    await loop.stop();
    expect(Date.now() - stopped).toBeLessThan(100);
    expect(passes).toBe(1);
  });
});
