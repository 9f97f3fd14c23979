'use client';
// The live health page: verdict, the outbox and Valkey, one card per queue, and the mock
// providers' fault switches. It starts from the server-rendered report and refreshes itself
// (use-health-poll.ts); pausing a queue or changing a fault refreshes at once.
import Link from 'next/link';
import { useEffect, useState, type ReactNode } from 'react';
import type { FaultMode, FaultSetting } from '@/infra/mock-providers/fault-control';
import type { QueueHealthReport } from '@/app/_admin/queue-health/queue-health';
import { count, duration, perMinute, relativeTime } from './format-units';
import { ProviderFaultPanel } from './provider-fault-panel';
import { QueueCard } from './queue-card';
import { isFaultModes, POLL_INTERVAL_MS, useHealthPoll } from './use-health-poll';
import { VerdictBanner } from './verdict-banner';
import './health.css';

/** Figures older than this are called out even if no refresh has failed yet. */
const STALE_AFTER_MS = 3 * POLL_INTERVAL_MS;

export function HealthDashboard({ initialReport }: { initialReport: QueueHealthReport | undefined }) {
  const poll = useHealthPoll(initialReport);
  const { report, reportAt, problem, signedOut, faults, refresh } = poll;
  const now = useClock(reportAt ?? 0);

  if (signedOut) {
    return (
      <section className="verdict verdict-unknown" data-testid="verdict" data-verdict="unknown">
        <h1>Signed out</h1>
        <p className="verdict-summary">
          Your session has ended. <Link href="/admin/login">Sign in again</Link> to keep watching the queues.
        </p>
      </section>
    );
  }

  const age = reportAt === undefined ? undefined : Math.max(0, now - reportAt);
  const stale =
    problem !== undefined
      ? `Could not refresh: ${problem}. ${reportAt === undefined ? 'No figures yet.' : `These figures are from ${relativeTime(reportAt, now)}.`}`
      : age !== undefined && age > STALE_AFTER_MS
        ? `These figures are from ${relativeTime(reportAt ?? now, now)}; refreshing.`
        : undefined;
  const freshness = reportAt === undefined ? 'Waiting for the first report' : `Updated ${relativeTime(reportAt, now)}`;

  const setPaused = async (queue: string, paused: boolean): Promise<string | undefined> => {
    const answer = await send(`/api/admin/queues/${encodeURIComponent(queue)}/${paused ? 'pause' : 'resume'}`, 'POST');
    refresh();
    return answer.ok ? undefined : answer.error;
  };

  const applyFault = async (provider: string, setting: Partial<FaultSetting> & { mode: FaultMode }): Promise<string | undefined> => {
    const answer = await send(`/api/admin/faults/${encodeURIComponent(provider)}`, 'PUT', setting);
    if (answer.ok && isFaultModes(answer.body)) poll.setFaults(answer.body);
    refresh();
    return answer.ok ? undefined : answer.error;
  };

  if (!report) {
    return (
      <section className="verdict verdict-unknown" data-testid="verdict" data-verdict="unknown">
        <h1>Reading the queues…</h1>
        {stale && <p className="stale-warning">{stale}</p>}
      </section>
    );
  }

  const totals = summarize(report);
  return (
    <>
      <VerdictBanner verdict={report.verdict} reasons={report.reasons} freshness={freshness} stale={stale} />

      <section className="overview" aria-label="System overview">
        <Tile label="Outbox backlog" testId="outbox" tone={outboxTone(report)}>
          <span>{count(report.outbox.pending)}</span>
          <span className="tile-note">
            {report.outbox.oldestAgeMs === null ? 'all dispatched' : `oldest ${duration(report.outbox.oldestAgeMs)}`}
          </span>
        </Tile>
        <Tile label="Valkey" tone={report.valkeyReachable ? undefined : 'bad'}>
          <span>{report.valkeyReachable ? 'reachable' : 'unreachable'}</span>
          <span className="tile-note">{report.valkeyReachable ? 'queues and breakers' : 'new jobs wait in the outbox'}</span>
        </Tile>
        <Tile label="Workers online" tone={totals.workers === 0 ? 'bad' : undefined}>
          <span>{count(totals.workers)}</span>
          <span className="tile-note">across {report.queues.length} queues</span>
        </Tile>
        <Tile label="Throughput">
          <span>{perMinute(totals.completedPerMinute)}</span>
          <span className="tile-note">completed, last 5 min</span>
        </Tile>
        <Tile label="Dead letters" tone={totals.deadLetters > 0 ? 'bad' : undefined}>
          <Link href="/admin/dead-letters">
            {count(totals.deadLetters)}
          </Link>
          <span className="tile-note">waiting for a decision</span>
        </Tile>
      </section>

      <div className="queue-grid">
        {report.queues.map((queue) => (
          <QueueCard key={queue.name} queue={queue} now={now} onPausedChange={setPaused} />
        ))}
      </div>

      {faults !== undefined && faults !== 'unavailable' && (
        <ProviderFaultPanel
          faults={faults}
          serves={Object.fromEntries(report.queues.map((queue) => [queue.breaker.provider, queue.name]))}
          onApply={applyFault}
        />
      )}
    </>
  );
}

function Tile({ label, tone, testId, children }: { label: string; tone?: 'warn' | 'bad'; testId?: string; children: ReactNode }) {
  return (
    <div className={tone ? `tile tile-${tone}` : 'tile'} data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className="tile-value">{children}</span>
    </div>
  );
}

/** The current time, ticking every second, starting from `start` so the server render and hydration agree. */
function useClock(start: number): number {
  const [now, setNow] = useState(start);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A few rows are always on their way; the verdict's own outbox reasons say when it is too many. */
function outboxTone(report: QueueHealthReport): 'warn' | 'bad' | undefined {
  if (!report.reasons.some((reason) => reason.startsWith('outbox:'))) return undefined;
  return report.verdict === 'failing' ? 'bad' : 'warn';
}

function summarize(report: QueueHealthReport) {
  let workers = 0;
  let deadLetters = 0;
  let completedLastFive = 0;
  for (const queue of report.queues) {
    workers += queue.workers;
    deadLetters += queue.deadLetters.unresolved;
    completedLastFive += queue.throughput.completedPerMinute.slice(-5).reduce((sum, value) => sum + value, 0);
  }
  return { workers, deadLetters, completedPerMinute: completedLastFive / 5 };
}

type WriteAnswer = { ok: true; body: unknown } | { ok: false; error: string };

/** A write to the admin API: its JSON answer, or the error to show beside the control. */
async function send(url: string, method: 'POST' | 'PUT', body?: unknown): Promise<WriteAnswer> {
  try {
    const response = await fetch(url, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer: unknown = await response.json().catch(() => undefined);
    if (response.ok) return { ok: true, body: answer };
    const message = (answer as { error?: unknown } | undefined)?.error;
    return { ok: false, error: typeof message === 'string' ? message : `The server answered ${response.status}.` };
  } catch {
    return { ok: false, error: 'The server did not answer.' };
  }
}
