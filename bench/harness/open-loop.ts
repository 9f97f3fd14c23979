// An open-loop load: each request is sent at its moment on the schedule, whether or not the earlier
// ones were answered, the way users arrive. A closed loop (a fixed number of connections, each
// sending its next request when answered) slows down with the server and so hides the collapse a
// server shows when it cannot keep up: its queue grows and every later request waits longer. Here
// a slow server meets the full rate, and its latency says so.
//
// Requests go over keep-alive connections with no cap on their number, so a request never waits
// for a free socket; its time runs from its scheduled moment to the end of its answer. A request
// not answered within the timeout counts as unanswered, like one that failed to connect.
import { Agent, request } from 'node:http';
import { summarize, type LatencySummary } from '@/bench/harness/stats';

export interface OpenLoopResult {
  /** Requests sent. */
  sent: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Timed out or failed to connect. */
  unanswered: number;
  /** Every answered request's time from its scheduled moment, in ms. */
  latency: LatencySummary;
  /** Share of requests without a 2xx answer. */
  errorRate: number;
  /** The rate asked for, and the one the schedule kept. */
  ratePerSecond: number;
  offeredPerSecond: number;
  seconds: number;
}

export interface OpenLoopOptions {
  /** http://127.0.0.1:<port> */
  url: string;
  path: string;
  ratePerSecond: number;
  seconds: number;
  /** The n-th request's JSON body. */
  body(n: number): unknown;
  timeoutMs?: number;
}

export async function openLoop({ url, path, ratePerSecond, seconds, body, timeoutMs = 10_000 }: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(path, url);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1_000 / ratePerSecond;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unanswered = 0;
  const inFlight: Array<Promise<void>> = [];

  const send = (n: number, scheduledAt: number) =>
    new Promise<void>((resolve) => {
      const payload = JSON.stringify(body(n));
      const req = request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - scheduledAt);
            statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
          res.on('error', () => {
            unanswered += 1;
            resolve();
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        unanswered += 1;
        resolve();
      });
      req.end(payload);
    });

  const started = performance.now();
  let lastSentAt = started;
  for (let n = 0; n < total; n += 1) {
    const scheduledAt = started + n * intervalMs;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lastSentAt = performance.now();
    inFlight.push(send(n, scheduledAt));
  }
  await Promise.all(inFlight);
  agent.destroy();

  const ok = Object.entries(statuses).reduce((sum, [status, count]) => sum + (status.startsWith('2') ? count : 0), 0);
  const scheduleSeconds = (lastSentAt - started) / 1_000;
  return {
    sent: total,
    statuses,
    unanswered,
    latency: summarize(latencies),
    errorRate: total > 0 ? (total - ok) / total : 0,
    ratePerSecond,
    offeredPerSecond: scheduleSeconds > 0 ? (total - 1) / scheduleSeconds : total,
    seconds: (performance.now() - started) / 1_000,
  };
}
