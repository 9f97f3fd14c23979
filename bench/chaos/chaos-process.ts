// One web or worker process of the soak, under the soak's hand: SIGKILLed (with whatever it forked,
// as a dying container takes its children), SIGSTOPped and continued, started again. An exit the soak
// did not cause is a finding: it is counted for the report and the process is started again.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendantPids } from '@/bench/harness/app-processes';

/** The delay before a process that exited on its own is started again, as npm start's supervisor waits. */
const RESTART_AFTER_UNEXPECTED_EXIT_MS = 1_000;

export interface ChaosProcessSpec {
  name: string;
  args: readonly string[];
  env: Record<string, string>;
  logFile: string;
  /** The workers run at a lower priority than the web, as npm start runs them. */
  niceness?: number;
  /** Past this, a SIGTERM at the end becomes a SIGKILL. */
  stopDeadlineMs: number;
}

export interface ChaosProcess {
  name: string;
  pid(): number | undefined;
  running(): boolean;
  /** SIGKILL to it and its descendants; it stays down until start(). */
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  start(): void;
  /** Exits the soak did not cause, as `<signal or code> at <ms since start>`. */
  unexpectedExits: string[];
  /** SIGTERM, then SIGKILL past the deadline, then anything it left behind. */
  stop(): Promise<void>;
}

/** `elapsedMs` tells the soak's clock, for the moments of unexpected exits. */
export function chaosProcess(spec: ChaosProcessSpec, elapsedMs: () => number): ChaosProcess {
  let child: ChildProcess | undefined;
  let intended = false;
  let stopped = false;
  let paused = false;
  const unexpectedExits: string[] = [];
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = () => {
    if (running() || stopped) return;
    intended = false;
    paused = false;
    const output = openSync(spec.logFile, 'a');
    const launched = spawn(process.execPath, [...spec.args], {
      // The soak measures production mode, always (and ProcessEnv's type insists on NODE_ENV).
      env: { ...spec.env, NODE_ENV: 'production' },
      stdio: ['ignore', output, output],
    });
    closeSync(output);
    if (launched.pid !== undefined && spec.niceness) setPriority(launched.pid, spec.niceness);
    launched.on('exit', (code, signal) => {
      if (intended || stopped) return;
      unexpectedExits.push(`${signal ?? `code ${code}`} at +${(elapsedMs() / 1_000).toFixed(1)} s`);
      setTimeout(start, RESTART_AFTER_UNEXPECTED_EXIT_MS).unref();
    });
    child = launched;
  };

  const signalAll = (signal: NodeJS.Signals, pids: readonly number[]) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited already
      }
    }
  };

  return {
    name: spec.name,
    pid: () => child?.pid,
    running,
    unexpectedExits,
    start,
    async kill() {
      if (!child || !running() || child.pid === undefined) return;
      intended = true;
      const exited = once(child, 'exit');
      const descendants = descendantPids(child.pid);
      signalAll('SIGKILL', [child.pid, ...descendants]);
      await exited;
    },
    pause() {
      if (!child?.pid || !running()) return;
      paused = true;
      signalAll('SIGSTOP', [child.pid]);
    },
    resume() {
      if (!child?.pid || !paused) return;
      paused = false;
      signalAll('SIGCONT', [child.pid]);
    },
    async stop() {
      stopped = true;
      if (!child?.pid || !running()) return;
      intended = true;
      const pid = child.pid;
      const descendants = descendantPids(pid);
      const exited = once(child, 'exit');
      signalAll('SIGCONT', [pid]);
      signalAll('SIGTERM', [pid]);
      const outcome = await Promise.race([exited.then(() => 'exited' as const), sleep(spec.stopDeadlineMs).then(() => 'late' as const)]);
      if (outcome === 'late') {
        signalAll('SIGKILL', [pid]);
        await exited;
      }
      signalAll('SIGKILL', descendants);
    },
  };
}
