// The maintenance tasks' one loop: run a bounded batch (a DELETE … LIMIT n, a clean of n jobs)
// again and again until one comes back short, so no single statement or script holds PostgreSQL
// or Valkey for long, however much has piled up.

/** Runs `batch` until it handles fewer than `batchSize`; returns how many it handled in all. */
export async function inBatches(batchSize: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const handled = await batch();
    total += handled;
    if (handled < batchSize) return total;
  }
}
