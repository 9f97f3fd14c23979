// The chaos soak's fault schedule: a pure function of the seed, the run's length and the number of
// worker processes, so a failing run is replayed by its seed (docs/failure-model.md#chaos-soak).
// Each window starts before the one drawn before it ends, so faults overlap; two windows never
// share a target (one process, Valkey, PostgreSQL, one provider) at once.
import { mulberry32, type Random } from './prng';

export const CHAOS_PROVIDERS = ['smtp', 'crm', 'storage', 'analytics'] as const;
export type ChaosProvider = (typeof CHAOS_PROVIDERS)[number];

/** Every mode the mocks inject; `hang` applies the request and never answers: "applied, then timed out". */
export const PROVIDER_FAULT_MODES = ['slow', 'flaky', 'down', 'hang', 'ratelimit', 'reject'] as const;
export type ProviderFaultMode = (typeof PROVIDER_FAULT_MODES)[number];

export type FaultWindow =
  | { id: number; kind: 'kill' | 'stop'; target: 'web' | `worker-${number}`; startMs: number; endMs: number }
  | { id: number; kind: 'valkey-kill'; target: 'valkey'; startMs: number; endMs: number }
  | { id: number; kind: 'postgres-refuse'; target: 'postgres'; startMs: number; endMs: number }
  | { id: number; kind: 'provider'; target: ChaosProvider; mode: ProviderFaultMode; startMs: number; endMs: number };

type FaultType =
  | 'kill-web'
  | 'stop-web'
  | 'kill-worker'
  | 'stop-worker'
  | 'valkey-kill'
  | 'postgres-refuse'
  | `provider-${ProviderFaultMode}`;

export const FAULT_TYPES: readonly FaultType[] = [
  'kill-web',
  'stop-web',
  'kill-worker',
  'stop-worker',
  'valkey-kill',
  'postgres-refuse',
  ...PROVIDER_FAULT_MODES.map((mode) => `provider-${mode}` as const),
];

/**
 * How long each fault lasts, in ms. Short enough that a two-minute soak holds every type; a
 * `reject` is kept shortest because each job it meets becomes a dead letter a person must replay.
 */
const DURATION_MS: Record<FaultType, [number, number]> = {
  'kill-web': [2_000, 6_000],
  'stop-web': [3_000, 10_000],
  'kill-worker': [1_000, 6_000],
  'stop-worker': [3_000, 12_000],
  'valkey-kill': [2_000, 8_000],
  'postgres-refuse': [3_000, 10_000],
  'provider-slow': [5_000, 20_000],
  'provider-flaky': [5_000, 20_000],
  'provider-down': [5_000, 20_000],
  'provider-hang': [5_000, 15_000],
  'provider-ratelimit': [5_000, 15_000],
  'provider-reject': [2_000, 5_000],
};

/** Load without faults first (a baseline) and last (faults heal before the load stops). */
export const QUIET_START_MS = 10_000;
export const QUIET_END_MS = 10_000;
/** A target is left alone this long between two of its windows, so a restart can finish. */
const TARGET_REST_MS = 1_000;

export interface ScheduleOptions {
  seed: number;
  minutes: number;
  workers: number;
}

export function faultSchedule({ seed, minutes, workers }: ScheduleOptions): FaultWindow[] {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`the seed must be a non-negative integer, not ${seed}`);
  if (!(minutes > 0)) throw new Error(`minutes must be positive, not ${minutes}`);
  if (!Number.isInteger(workers) || workers < 2) throw new Error(`the soak needs 2 or more worker processes, not ${workers}`);
  const random = mulberry32(seed);
  const end = minutes * 60_000 - QUIET_END_MS;
  const busyUntil = new Map<string, number>();
  // Every type once, in an order the seed decides, then any type again until the time is used.
  const firstRound = random.shuffle(FAULT_TYPES);
  const windows: FaultWindow[] = [];
  let cursor = QUIET_START_MS;
  for (;;) {
    const type = firstRound.shift() ?? random.pick(FAULT_TYPES);
    const [shortest, longest] = DURATION_MS[type];
    const duration = random.int(shortest, longest);
    const target = targetFor(type, random, workers, busyUntil, cursor);
    const startMs = Math.max(cursor, (busyUntil.get(target) ?? 0) + TARGET_REST_MS);
    const endMs = startMs + duration;
    if (endMs > end) break;
    busyUntil.set(target, endMs);
    windows.push(windowOf(type, windows.length + 1, target, startMs, endMs));
    // The next window opens while this one is still open: between 30% and 80% of the way through.
    cursor = startMs + Math.floor(duration * (0.3 + 0.5 * random.next()));
  }
  return windows.sort((a, b) => a.startMs - b.startMs || a.id - b.id);
}

function targetFor(type: FaultType, random: Random, workers: number, busyUntil: Map<string, number>, at: number): string {
  if (type === 'kill-web' || type === 'stop-web') return 'web';
  if (type === 'valkey-kill') return 'valkey';
  if (type === 'postgres-refuse') return 'postgres';
  const candidates =
    type === 'kill-worker' || type === 'stop-worker'
      ? Array.from({ length: workers }, (_, index) => `worker-${index}`)
      : [...CHAOS_PROVIDERS];
  const free = candidates.filter((candidate) => (busyUntil.get(candidate) ?? 0) + TARGET_REST_MS <= at);
  if (free.length > 0) return random.pick(free);
  // All busy: the one free soonest (the first of equals), so the schedule does not stall.
  return candidates.reduce((best, candidate) => ((busyUntil.get(candidate) ?? 0) < (busyUntil.get(best) ?? 0) ? candidate : best));
}

function windowOf(type: FaultType, id: number, target: string, startMs: number, endMs: number): FaultWindow {
  switch (type) {
    case 'kill-web':
    case 'kill-worker':
      return { id, kind: 'kill', target: target as 'web' | `worker-${number}`, startMs, endMs };
    case 'stop-web':
    case 'stop-worker':
      return { id, kind: 'stop', target: target as 'web' | `worker-${number}`, startMs, endMs };
    case 'valkey-kill':
      return { id, kind: 'valkey-kill', target: 'valkey', startMs, endMs };
    case 'postgres-refuse':
      return { id, kind: 'postgres-refuse', target: 'postgres', startMs, endMs };
    default:
      return { id, kind: 'provider', target: target as ChaosProvider, mode: type.slice('provider-'.length) as ProviderFaultMode, startMs, endMs };
  }
}

/** One line per window, for the progress output and the report. */
export function describeWindow(window: FaultWindow): string {
  const what =
    window.kind === 'provider'
      ? `${window.target} ${window.mode}${window.mode === 'hang' ? ' (applied, then timed out)' : ''}`
      : window.kind === 'kill'
        ? `SIGKILL ${window.target}, restarted after`
        : window.kind === 'stop'
          ? `SIGSTOP ${window.target}, SIGCONT after`
          : window.kind === 'valkey-kill'
            ? 'SIGKILL Valkey (AOF everysec), restarted on its directory after'
            : 'PostgreSQL refuses the soak database\'s connections for';
  return `#${window.id} ${what} ${((window.endMs - window.startMs) / 1_000).toFixed(1)} s at +${(window.startMs / 1_000).toFixed(1)} s`;
}
