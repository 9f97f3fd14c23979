// Requests the `hang` mode accepted and will never answer. They are tracked so /__reset and
// shutdown can cut them loose; otherwise a hung client would pin the server open until its own
// timeout fired, and a reset would leave the previous test's stall behind.
export interface HeldRequests {
  /** Keeps `release` until releaseAll; the returned function forgets it (the client went away). */
  hold(release: () => void): () => void;
  releaseAll(): void;
}

export function createHeldRequests(): HeldRequests {
  const releases = new Set<() => void>();
  return {
    hold(release) {
      releases.add(release);
      return () => void releases.delete(release);
    },
    releaseAll() {
      const pending = [...releases];
      releases.clear();
      for (const release of pending) release();
    },
  };
}
