'use client';
// The live half of the status page: starts from the server-rendered status and polls
// GET /api/welcome/<token> until every job has settled. The "resend verification email" button
// lives here because it must disappear once the poll reports the address confirmed.
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { FollowUpEmailStatus, FollowUpState, JobState, JobStatus, SignupStatus } from '@/app/_signup/signup-status';
import { ResendVerificationForm } from '@/app/welcome/[token]/resend-verification-form';

/** Jobs usually settle within seconds, so a one-second poll shows progress as it happens. */
const POLL_INTERVAL_MS = 1_000;
/** After a failed poll, ask less often: the server or the network is already struggling. */
const ERROR_BACKOFF_MS = 5_000;

/**
 * States no poll will change: finished, given up on, or never queued (a job with no outbox row,
 * which nothing will enqueue later).
 */
const SETTLED: ReadonlySet<JobState> = new Set(['done', 'dead-lettered', 'not-queued']);

/** The follow-up's states no poll will change. 'scheduled' is handled apart: see isSettled. */
const FOLLOW_UP_SETTLED: ReadonlySet<FollowUpState> = new Set(['sent', 'dead-lettered', 'cancelled']);

/**
 * A scheduled follow-up due within this long keeps the page polling, so a demo with a delay of
 * seconds shows it go out; one due in days (the default) would keep a tab polling for days for a
 * change a reload shows just as well.
 */
const FOLLOW_UP_POLL_HORIZON_MS = 2 * 60 * 1_000;

type PollProblem = 'unreachable' | 'gone' | 'expired' | undefined;

export function JobStatusList({ token, initialStatus }: { token: string; initialStatus: SignupStatus }) {
  const [status, setStatus] = useState(initialStatus);
  const [problem, setProblem] = useState<PollProblem>();

  useEffect(() => {
    if (isSettled(initialStatus)) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;

    const poll = async () => {
      let delay = POLL_INTERVAL_MS;
      try {
        const response = await fetch(`/api/welcome/${encodeURIComponent(token)}`, {
          cache: 'no-store',
          signal: controller.signal,
        });
        if (response.status === 404 || response.status === 410) {
          setProblem(response.status === 404 ? 'gone' : 'expired');
          return;
        }
        const body: unknown = response.ok ? await response.json() : undefined;
        if (!isSignupStatus(body)) throw new Error(`status poll answered ${response.status}`);
        setStatus(body);
        setProblem(undefined);
        if (isSettled(body)) return;
      } catch {
        if (controller.signal.aborted) return;
        setProblem('unreachable');
        delay = ERROR_BACKOFF_MS;
      }
      timer = setTimeout(poll, delay);
    };

    timer = setTimeout(poll, POLL_INTERVAL_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [token, initialStatus]);

  return (
    <div>
      <div className="status-overview" aria-live="polite">
        {status.avatarReady ? (
          // A plain <img>: the avatar is already a small PNG served by this app (which proxies the
          // storage provider), so next/image's optimiser would only add a second copy.
          <img
            className="avatar"
            data-testid="avatar"
            src={`/welcome/${encodeURIComponent(token)}/avatar`}
            alt="Your generated avatar"
            width={128}
            height={128}
          />
        ) : (
          <div className="avatar-placeholder" aria-hidden="true">
            Your avatar is on its way
          </div>
        )}
        <dl className="facts">
          <div>
            <dt>Email address</dt>
            <dd data-testid="email-verified" data-state={status.emailVerified ? 'verified' : 'unverified'}>
              {status.emailVerified ? 'Confirmed' : 'Not confirmed yet: use the link in your welcome email'}
            </dd>
          </div>
          {status.workspace && (
            <div>
              <dt>Workspace</dt>
              <dd>{status.workspace}</dd>
            </div>
          )}
        </dl>
      </div>

      {!status.emailVerified && problem !== 'gone' && problem !== 'expired' && (
        <div className="verification-resend">
          <p className="muted small">No email, or deleted it by mistake? We can send a new link; each time you ask, the wait before the next one doubles.</p>
          <ResendVerificationForm token={token} />
        </div>
      )}

      <h2>Background jobs</h2>
      <div role="status" aria-live="polite">
        <ul className="job-list">
          {status.jobs.map((job) => (
            <JobRow key={job.name} job={job} />
          ))}
          {status.followUpEmail && <FollowUpRow followUp={status.followUpEmail} />}
        </ul>

        {!status.queueReachable && <p className="status-note">Queue unreachable; showing saved state.</p>}
        {problem === 'unreachable' && (
          <p className="status-note">Could not refresh just now; trying again in a few seconds.</p>
        )}
        {problem === 'gone' && <p className="status-note">This signup no longer exists.</p>}
        {problem === 'expired' && <p className="status-note">This page&apos;s link has expired; reload the page to ask for a new one.</p>}
      </div>
    </div>
  );
}

function JobRow({ job }: { job: JobStatus }) {
  return (
    <li className="job" data-testid={`job-${job.name}`} data-state={job.state}>
      <span className="job-label">{job.label}</span>
      <span className={`badge badge-${job.state}`}>{stateText(job)}</span>
      {job.state === 'dead-lettered' && job.lastError && <p className="job-error">{job.lastError}</p>}
      {job.state === 'retrying' && job.lastError && <p className="job-error">Last attempt: {job.lastError}</p>}
    </li>
  );
}

function FollowUpRow({ followUp }: { followUp: FollowUpEmailStatus }) {
  return (
    <li className="job" data-testid={`job-${followUp.name}`} data-state={followUp.state}>
      <span className="job-label">{followUp.label}</span>
      <span className={`badge badge-${followUp.state}`}>
        {followUp.state === 'scheduled' && followUp.scheduledFor ? (
          <>
            Scheduled for <LocalTime iso={followUp.scheduledFor} />
          </>
        ) : (
          followUpStateText(followUp)
        )}
      </span>
      {followUp.state === 'dead-lettered' && followUp.lastError && <p className="job-error">{followUp.lastError}</p>}
      {followUp.state === 'retrying' && followUp.lastError && (
        <p className="job-error">Last attempt: {followUp.lastError}</p>
      )}
    </li>
  );
}

function followUpStateText(followUp: FollowUpEmailStatus): string {
  switch (followUp.state) {
    case 'scheduled':
      return 'Scheduled';
    case 'sent':
      return 'Sent';
    case 'cancelled':
      return 'Cancelled';
    case 'queued':
    case 'running':
    case 'retrying':
    case 'dead-lettered':
      return stateText({ ...followUp, state: followUp.state });
  }
}

// Field by field: Intl refuses timeZoneName together with dateStyle/timeStyle.
const SERVER_TIME_FORMAT = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

const noSubscription = () => () => undefined;

/**
 * A time in the reader's own zone. The server cannot know that zone, so the first render (and a
 * browser without JavaScript) shows UTC, labelled as such; once hydrated, the browser's zone.
 * useSyncExternalStore gives the server value during hydration, so the two never mismatch.
 */
function LocalTime({ iso }: { iso: string }) {
  const hydrated = useSyncExternalStore(noSubscription, () => true, () => false);
  const date = new Date(iso);
  const text = hydrated
    ? date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    : SERVER_TIME_FORMAT.format(date);
  return <time dateTime={iso}>{text}</time>;
}

function stateText(job: JobStatus): string {
  switch (job.state) {
    case 'queued':
      return 'Queued';
    case 'running':
      return 'Running';
    case 'retrying':
      return job.attempt && job.attempts ? `Retrying, attempt ${job.attempt} of ${job.attempts}` : 'Retrying';
    case 'done':
      return 'Done';
    case 'dead-lettered':
      return 'Failed, dead-lettered';
    case 'not-queued':
      // The analytics event is shed under overload; for any other job it means nothing queued it.
      return job.notQueuedReason === 'load-shedding' ? 'Skipped (system busy)' : 'Not queued';
  }
}

function isSettled(status: SignupStatus): boolean {
  return status.jobs.every((job) => SETTLED.has(job.state)) && followUpSettled(status.followUpEmail);
}

function followUpSettled(followUp: FollowUpEmailStatus | undefined): boolean {
  if (!followUp) return true;
  if (followUp.state === 'scheduled') {
    return !followUp.scheduledFor || Date.parse(followUp.scheduledFor) - Date.now() > FOLLOW_UP_POLL_HORIZON_MS;
  }
  return FOLLOW_UP_SETTLED.has(followUp.state);
}

/** Enough of a shape check that a proxy's error page is treated as a failed poll, not a status. */
function isSignupStatus(value: unknown): value is SignupStatus {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof SignupStatus, unknown>>;
  return typeof candidate.name === 'string' && Array.isArray(candidate.jobs) && typeof candidate.queueReachable === 'boolean';
}
