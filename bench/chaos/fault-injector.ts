// Runs a fault schedule against a chaos stack: each window's fault at its start, its healing at its
// end, in time order, with the moments they really happened (the report classifies requests by
// them). How each fault is made is in docs/failure-model.md#chaos-soak.
import { setTimeout as sleep } from 'node:timers/promises';
import { allowPostgres, refusePostgres, type ChaosStack } from './chaos-stack';
import { describeWindow, type FaultWindow } from './fault-schedule';

export interface FaultRecord {
  window: FaultWindow;
  /** Ms since the soak started; undefined while not yet applied or healed. */
  appliedAt?: number;
  healedAt?: number;
  error?: string;
}

export interface FaultRun {
  records: FaultRecord[];
  /** Resolves once every window is healed, or the run is aborted. */
  done: Promise<void>;
  /** Stops applying new faults (healing still happens through healAll). */
  abort(): void;
  /** Heals every fault still applied: the settle phase's first step, and the last resort on failure. */
  healAll(): Promise<void>;
}

export function runFaultSchedule(stack: ChaosStack, windows: readonly FaultWindow[], startedAt: number, log: (line: string) => void): FaultRun {
  const records = windows.map((window): FaultRecord => ({ window }));
  const events = records
    .flatMap((record) => [
      { at: record.window.startMs, record, action: 'apply' as const },
      { at: record.window.endMs, record, action: 'heal' as const },
    ])
    // At one moment, heal before applying, so a target's next window finds it healed.
    .sort((a, b) => a.at - b.at || (a.action === 'heal' ? -1 : 1));
  let aborted = false;

  const act = async (record: FaultRecord, action: 'apply' | 'heal') => {
    const now = () => Date.now() - startedAt;
    try {
      if (action === 'apply') {
        record.appliedAt = now();
        await applyFault(stack, record.window);
        log(`fault ${describeWindow(record.window)}`);
      } else {
        await healFault(stack, record.window);
        record.healedAt = now();
        log(`healed #${record.window.id} (${record.window.kind} ${record.window.target})`);
      }
    } catch (error) {
      record.error = `${action}: ${error instanceof Error ? error.message : String(error)}`;
      log(`fault #${record.window.id} could not ${action}: ${record.error}`);
    }
  };

  const done = (async () => {
    for (const event of events) {
      const wait = startedAt + event.at - Date.now();
      if (wait > 0) await sleep(wait);
      if (aborted) return;
      if (event.action === 'heal' && event.record.appliedAt === undefined) continue;
      await act(event.record, event.action);
    }
  })();

  return {
    records,
    done,
    abort: () => void (aborted = true),
    async healAll() {
      for (const record of records) {
        if (record.appliedAt !== undefined && record.healedAt === undefined) await act(record, 'heal');
      }
    },
  };
}

function processOf(stack: ChaosStack, target: string) {
  if (target === 'web') return stack.web;
  const worker = stack.workers[Number(target.replace('worker-', ''))];
  if (!worker) throw new Error(`no process ${target}`);
  return worker;
}

async function applyFault(stack: ChaosStack, window: FaultWindow): Promise<void> {
  switch (window.kind) {
    case 'kill':
      return processOf(stack, window.target).kill();
    case 'stop':
      return processOf(stack, window.target).pause();
    case 'valkey-kill':
      return stack.valkey.kill();
    case 'postgres-refuse':
      return refusePostgres(stack.database.url, stack.database.name);
    case 'provider':
      // `slow` at twice the default second, still inside the 5 s provider timeout.
      return stack.setFault(window.target, { mode: window.mode, ...(window.mode === 'slow' ? { latencyMs: 2_000 } : {}) });
  }
}

async function healFault(stack: ChaosStack, window: FaultWindow): Promise<void> {
  switch (window.kind) {
    case 'kill':
      return processOf(stack, window.target).start();
    case 'stop':
      return processOf(stack, window.target).resume();
    case 'valkey-kill':
      return stack.valkey.start();
    case 'postgres-refuse':
      return allowPostgres(stack.database.url, stack.database.name);
    case 'provider':
      return stack.setFault(window.target, { mode: 'up' });
  }
}
