// Everything one running set of mock providers remembers, created per startMockProviders call
// and handed to both servers, so tests can run instances side by side without sharing globals.
import { createAvatarStore, type AvatarStore } from './avatar-store';
import { createFaultModes, type FaultModes } from './fault-modes';
import { createHeldRequests, type HeldRequests } from './held-requests';
import { createProviderRecords, type ProviderRecords } from './provider-records';

export interface MockState {
  faults: FaultModes;
  records: ProviderRecords;
  avatars: AvatarStore;
  held: HeldRequests;
  /** Aborted on close, so a `slow` wait cannot keep a closing server alive. */
  closing: AbortSignal;
}

export function createMockState(closing: AbortSignal): MockState {
  return {
    faults: createFaultModes(),
    records: createProviderRecords(),
    avatars: createAvatarStore(),
    held: createHeldRequests(),
    closing,
  };
}

/** POST /__reset: back to a healthy, empty provider, and no request left hanging. */
export function resetMockState(state: MockState): void {
  state.faults.reset();
  state.records.reset();
  state.avatars.clear();
  state.held.releaseAll();
}
