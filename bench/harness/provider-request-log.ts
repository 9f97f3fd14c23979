// Every request the mock providers answered, with its moment and outcome, taken from the mocks'
// `onRequest` hook (pass `record` as startBenchStack's `onProviderRequest`), and the figures a
// scenario reports from it: requests in an interval and requests per second. `/__inspect` keeps
// only totals per idempotency key, which cannot tell a burst from a trickle.
import type { ProviderRequestEvent } from '@/infra/mock-providers/mock-state';
import type { ProviderName } from '@/lib/providers';

type Outcome = ProviderRequestEvent['outcome'];

export interface ProviderRequestLog {
  record(event: ProviderRequestEvent): void;
  /** Requests to `provider` in [from, to), of the given outcomes (all when omitted). */
  count(provider: ProviderName, from: number, to: number, outcomes?: readonly Outcome[]): number;
  /** Requests per second in consecutive 1 s bins from `from` up to `to`. */
  perSecond(provider: ProviderName, from: number, to: number): number[];
  /** The most requests in any 1 s window that starts at or after `from` and ends by `to`. */
  busiestSecond(provider: ProviderName, from: number, to: number): number;
}

const SECOND_MS = 1_000;

export function createProviderRequestLog(): ProviderRequestLog {
  // Per provider, in the order the mocks decided them, which is the order of `at`.
  const events = new Map<ProviderName, ProviderRequestEvent[]>();
  const between = (provider: ProviderName, from: number, to: number) =>
    (events.get(provider) ?? []).filter((event) => event.at >= from && event.at < to);

  return {
    record(event) {
      const list = events.get(event.provider);
      if (list) list.push(event);
      else events.set(event.provider, [event]);
    },
    count(provider, from, to, outcomes) {
      return between(provider, from, to).filter((event) => !outcomes || outcomes.includes(event.outcome)).length;
    },
    perSecond(provider, from, to) {
      const bins = new Array<number>(Math.max(0, Math.ceil((to - from) / SECOND_MS))).fill(0);
      for (const event of between(provider, from, to)) {
        const bin = Math.floor((event.at - from) / SECOND_MS);
        bins[bin] = (bins[bin] ?? 0) + 1;
      }
      return bins;
    },
    busiestSecond(provider, from, to) {
      const times = between(provider, from, to).map((event) => event.at);
      let busiest = 0;
      // Two pointers: for each request, the requests in the second that starts with it.
      for (let first = 0, last = 0; first < times.length; first += 1) {
        const start = times[first] as number;
        if (start + SECOND_MS > to) break;
        while (last < times.length && (times[last] as number) < start + SECOND_MS) last += 1;
        busiest = Math.max(busiest, last - first);
      }
      return busiest;
    },
  };
}
