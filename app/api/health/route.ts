// GET /api/health: liveness of the web process and reachability of its two stores, unauthenticated
// (load balancers and compose healthchecks call it). 503 when either store is unreachable, though
// signups still work without Valkey: the outbox holds their jobs.
import { webRuntime } from '@/app/_web/web-runtime';
import { withDeadline } from '@/lib/deadline';

export const dynamic = 'force-dynamic';

/** A health probe must answer quickly even when a store hangs. */
const PROBE_TIMEOUT_MS = 1_000;

export async function GET(): Promise<Response> {
  const { db, valkey } = webRuntime();
  const [database, queue] = await Promise.all([
    probe(() => db.$queryRaw`SELECT 1`),
    probe(() => valkey.ping()),
  ]);
  const ok = database && queue;
  return Response.json(
    { ok, db: database ? 'up' : 'down', valkey: queue ? 'up' : 'down' },
    { status: ok ? 200 : 503, headers: { 'cache-control': 'no-store' } },
  );
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await withDeadline(check(), PROBE_TIMEOUT_MS, () => new Error('timeout'));
    return true;
  } catch {
    return false;
  }
}
