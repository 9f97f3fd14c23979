'use client';
// The health page's live data: GET /api/admin/queues and GET /api/admin/faults every two seconds
// while the tab is visible. A hidden tab asks nothing and refreshes as soon as it is shown again.
// A failed refresh keeps the last good figures and says so, rather than blanking the page.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { QueueHealthReport } from '@/app/_admin/queue-health/queue-health';
import type { FaultModes } from './provider-fault-panel';

/** The report is built to answer within one interval even with Valkey hanging (app/_admin/queue-health/queue-health.ts). */
export const POLL_INTERVAL_MS = 2_000;

export interface HealthPoll {
  report: QueueHealthReport | undefined;
  /** When the shown report arrived (ms); the server render's own time for the first one. */
  reportAt: number | undefined;
  /** Why the last refresh failed; undefined after a good one. */
  problem: string | undefined;
  /** The session expired or was signed out elsewhere: polling stops. */
  signedOut: boolean;
  /** undefined until the first answer; 'unavailable' when the mocks are not running (503). */
  faults: FaultModes | 'unavailable' | undefined;
  setFaults(faults: FaultModes): void;
  /** Refresh now, for instance after a pause or a fault change. */
  refresh(): void;
}

export function useHealthPoll(initial: QueueHealthReport | undefined): HealthPoll {
  const [report, setReport] = useState(initial);
  const [reportAt, setReportAt] = useState(initial ? Date.parse(initial.generatedAt) : undefined);
  const [problem, setProblem] = useState<string>();
  const [signedOut, setSignedOut] = useState(false);
  const [faults, setFaults] = useState<FaultModes | 'unavailable'>();
  const refreshRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    let stopped = false;

    const poll = async () => {
      clearTimeout(timer);
      controller?.abort();
      const current = new AbortController();
      controller = current;
      const [health, faultAnswer] = await Promise.all([readHealth(current.signal), readFaults(current.signal)]);
      // A newer poll (visibility change, refresh()) replaced this one while it waited.
      if (current.signal.aborted || stopped) return;

      if (health.kind === 'signed-out') {
        setSignedOut(true);
        return;
      }
      if (health.kind === 'report') {
        setReport(health.report);
        setReportAt(Date.now());
        setProblem(undefined);
      } else {
        setProblem(health.problem);
      }
      if (faultAnswer !== undefined) setFaults(faultAnswer);
      if (!document.hidden) timer = setTimeout(poll, POLL_INTERVAL_MS);
    };

    const onVisibilityChange = () => {
      if (document.hidden) {
        clearTimeout(timer);
        controller?.abort();
      } else {
        void poll();
      }
    };

    refreshRef.current = () => void poll();
    document.addEventListener('visibilitychange', onVisibilityChange);
    // The server rendered a fresh report; the first poll fetches the faults at once.
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      document.removeEventListener('visibilitychange', onVisibilityChange);
    };
  }, []);

  const refresh = useCallback(() => refreshRef.current(), []);
  return { report, reportAt, problem, signedOut, faults, setFaults, refresh };
}

type HealthAnswer = { kind: 'report'; report: QueueHealthReport } | { kind: 'problem'; problem: string } | { kind: 'signed-out' };

async function readHealth(signal: AbortSignal): Promise<HealthAnswer> {
  try {
    const response = await fetch('/api/admin/queues', { cache: 'no-store', signal });
    if (response.status === 401) return { kind: 'signed-out' };
    if (!response.ok) return { kind: 'problem', problem: `the server answered ${response.status}` };
    const body: unknown = await response.json();
    return isReport(body) ? { kind: 'report', report: body } : { kind: 'problem', problem: 'the answer was not a health report' };
  } catch {
    return { kind: 'problem', problem: 'the server did not answer' };
  }
}

/** The current fault modes, 'unavailable' when the mocks are not running, undefined when unsure. */
async function readFaults(signal: AbortSignal): Promise<FaultModes | 'unavailable' | undefined> {
  try {
    const response = await fetch('/api/admin/faults', { cache: 'no-store', signal });
    if (response.status === 503) return 'unavailable';
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    return isFaultModes(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

/** Enough of a shape check that a proxy's error page counts as a failed poll, not a report. */
function isReport(value: unknown): value is QueueHealthReport {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof QueueHealthReport, unknown>>;
  return typeof candidate.verdict === 'string' && Array.isArray(candidate.queues) && typeof candidate.generatedAt === 'string';
}

export function isFaultModes(value: unknown): value is FaultModes {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (setting: unknown) => typeof setting === 'object' && setting !== null && typeof (setting as { mode?: unknown }).mode === 'string',
  );
}
