// Everything one running set of mock providers remembers, created per startMockProviders call
// and handed to both servers, so tests can run instances side by side without sharing globals.
import { createAvatarStore, type AvatarStore } from './avatar-store';
import { createFaultModes, type FailingMode, type FaultModes } from './fault-modes';
import { createHeldRequests, type HeldRequests } from './held-requests';
import { createProviderRecords, type ProviderRecords } from './provider-records';
import type { ProviderName } from '@/lib/providers';

/**
 * One request a provider decided how to answer: `served` (accepted, after any `slow` latency),
 * `hung`, or the failing mode it was answered with, `ratelimit` including the provider's own rate
 * limit. `at` is when it decided. Unlike `/__inspect`, which keeps totals per idempotency key, this
 * gives each request's moment: what a benchmark needs for requests per second.
 */
export interface ProviderRequestEvent {
  provider: ProviderName;
  outcome: 'served' | 'hung' | FailingMode;
  at: number;
}

export type ProviderRequestObserver = (event: ProviderRequestEvent) => void;

export interface MockState {
  faults: FaultModes;
  records: ProviderRecords;
  avatars: AvatarStore;
  held: HeldRequests;
  /** Aborted on close, so a `slow` wait cannot keep a closing server alive. */
  closing: AbortSignal;
}

export function createMockState(closing: AbortSignal, onRequest?: ProviderRequestObserver): MockState {
  const faults = createFaultModes();
  return {
    faults: onRequest ? observed(faults, onRequest) : faults,
    records: createProviderRecords(),
    avatars: createAvatarStore(),
    held: createHeldRequests(),
    closing,
  };
}

/**
 * Every HTTP and SMTP provider request passes through exactly one fault decision, so observing
 * decisions observes requests, on both protocols, in one place.
 */
function observed(faults: FaultModes, onRequest: ProviderRequestObserver): FaultModes {
  return {
    ...faults,
    decide(provider, random) {
      const decision = faults.decide(provider, random);
      const outcome = decision.kind === 'fail' ? decision.mode : decision.kind === 'hang' ? 'hung' : 'served';
      try {
        onRequest({ provider, outcome, at: Date.now() });
      } catch (error) {
        // An observer is someone else's code; it must not change what the provider answers.
        console.error('[mocks] onRequest observer failed', error);
      }
      return decision;
    },
  };
}

/** POST /__reset: back to a healthy, empty provider, and no request left hanging. */
export function resetMockState(state: MockState): void {
  state.faults.reset();
  state.records.reset();
  state.avatars.clear();
  state.held.releaseAll();
}
