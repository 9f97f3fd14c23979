// Signups sent with autocannon, each with an email address of its own, in two shapes: a fixed
// rate for a given time (the asynchronous path at 100/s), and a fixed number of requests over a
// few connections (the synchronous path, whose requests take seconds each).
//
// autocannon's rate limit is a budget per connection per second, spent back to back at the start
// of each second, and all of one instance's connections start together: `overallRate: 100` sends
// its 100 signups in a burst and then nothing for the rest of the second, and a connection whose
// answer is late delays the ones behind it, so a slow server is offered less than the rate. So a
// rate of n/s runs as n single-connection instances of 1/s each, started 1/n s apart: arrivals are
// evenly spaced, and a request waits for nothing unless its connection's previous one, sent a
// second earlier, is still unanswered. Latencies are autocannon's raw per-request times (its
// 'response' event), not its histogram, whose coordinated-omission correction assumes an interval
// of 1 ms at these rates and would invent samples.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { summarize, type LatencySummary } from '@/bench/harness/stats';

export interface LoadResult {
  /** Requests sent, answered or not. */
  sent: number;
  /** Answers by HTTP status, e.g. {"201": 1990, "502": 10}. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts: requests that got no answer. */
  unanswered: number;
  /** Every answered request's time, in ms. */
  latency: LatencySummary;
  /** 2xx answers per second of wall time, from the first request to the last answer. */
  throughputPerSecond: number;
  /** Share of requests without a 2xx answer. */
  errorRate: number;
  seconds: number;
}

export interface SignupTarget {
  /** http://127.0.0.1:<port> */
  url: string;
  /** '/api/signups' or '/api/signups/sync' */
  path: string;
}

/** `ratePerSecond` signups each second for `seconds` whole seconds. */
export async function signupsAtRate(
  target: SignupTarget,
  { ratePerSecond, seconds }: { ratePerSecond: number; seconds: number },
): Promise<LoadResult> {
  if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1) {
    throw new Error(`a rate must be a whole number per second, not ${ratePerSecond}`);
  }
  return measure(target, async (run) => {
    const connections: Array<Promise<void>> = [];
    const started = performance.now();
    for (let at = 0; at < ratePerSecond; at += 1) {
      await sleep(Math.max(0, started + (at * 1_000) / ratePerSecond - performance.now()));
      // `amount` rather than `duration`: every request is answered before the instance ends,
      // where a duration ends on a timer tick that drops requests in flight.
      connections.push(run({ connections: 1, overallRate: 1, amount: seconds }));
    }
    await Promise.all(connections);
  });
}

/** `amount` signups over `connections` connections, each sending its next one when answered. */
export async function signupRequests(
  target: SignupTarget,
  { amount, connections, timeoutSeconds = 60 }: { amount: number; connections: number; timeoutSeconds?: number },
): Promise<LoadResult> {
  return measure(target, (run) => run({ connections, amount, timeout: timeoutSeconds }));
}

type Run = (options: Partial<autocannon.Options>) => Promise<void>;

async function measure({ url, path }: SignupTarget, drive: (run: Run) => Promise<void>): Promise<LoadResult> {
  const batch = randomBytes(4).toString('hex');
  let next = 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unanswered = 0;
  let lastAnswerAt = 0;

  const run: Run = (options) =>
    new Promise<void>((resolve, reject) => {
      const instance = autocannon(
        {
          url,
          timeout: 10,
          // An instance ends on the tick of its requests histogram after its last answer; 250 ms
          // rather than 1 s ends it sooner, at a few timer callbacks per second per instance.
          sampleInt: 250,
          ...options,
          requests: [
            {
              method: 'POST',
              path,
              headers: { 'content-type': 'application/json' },
              setupRequest: (request) => {
                next += 1;
                const body = { name: `Bench ${next}`, email: `bench-${batch}-${next}@example.com` };
                return { ...request, body: JSON.stringify(body) };
              },
            },
          ],
        },
        (error: unknown, result) => {
          if (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          // errors counts timeouts too; autocannon's own `sent` overcounts rate-limited connections.
          unanswered += result.errors;
          resolve();
        },
      );
      instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
        latencies.push(responseTimeMs);
        statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
        lastAnswerAt = performance.now();
      });
    });

  const startedAt = performance.now();
  await drive(run);
  const seconds = ((lastAnswerAt || performance.now()) - startedAt) / 1_000;
  const ok = Object.entries(statuses).reduce((total, [status, count]) => total + (status.startsWith('2') ? count : 0), 0);
  const total = latencies.length + unanswered;
  return {
    sent: total,
    statuses,
    unanswered,
    latency: summarize(latencies),
    throughputPerSecond: seconds > 0 ? ok / seconds : 0,
    errorRate: total > 0 ? (total - ok) / total : 0,
    seconds,
  };
}
