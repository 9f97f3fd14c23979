// What the capacity scenario measured, in the shape both of its halves use: capacity.ts fills it
// and capacity-report.ts turns it into tables and charts. Kept apart from both so the dependency
// runs one way (capacity.ts → capacity-report.ts → capacity-data.ts), with no import cycle.
import type { BacklogRun } from '@/bench/harness/backlog-drain';
import type { LoadAverage } from '@/bench/harness/machine-cpu';

/** How big a run is: capacity.ts holds a full and a quick one. */
export interface CapacitySize {
  idleMs: number;
  flow: { signups: number; perSecond: number };
  scaling: { signups: number; processes: number[] };
  noOp: { perQueue: number; warmUpPerQueue: number; processes: number[]; concurrency: number };
  warmUpSignups: number;
  deadlineMs: number;
}

export interface NoOpRun extends BacklogRun {
  concurrency: number;
}

export interface CapacityData {
  size: CapacitySize;
  serverVersion: string;
  /** Before anything of this scenario ran: the other load averages include its own work. */
  loadAtStart: LoadAverage;
  /** By process count. The one-process run's rounds are idle, flow, backlog, each queue alone. */
  scaling: BacklogRun[];
  noOp: NoOpRun[];
}

/** Where each figure is in the one-process run: the order drainSignups (capacity.ts) runs them. */
export const ONE_PROCESS_ROUNDS = { idle: 0, flow: 1, backlog: 2, alone: 3 } as const;
