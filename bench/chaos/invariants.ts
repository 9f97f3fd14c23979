// What must hold once the soak has settled (docs/failure-model.md#chaos-soak). Each check names the
// ids that break it; the first broken one is what a failing run prints.
import { query, sql } from '@/lib/sql';
import type { InspectEntry } from '@/infra/mock-providers/provider-records';
import type { ChaosStack } from './chaos-stack';
import type { FaultRecord } from './fault-injector';
import type { LoadDriver, RequestRecord } from './load-driver';
import { accountOutbox, providerOfQueue, type AccountedRow } from './outbox-accounting';
import type { SettleResult } from './settle';

export interface InvariantResult {
  name: string;
  ok: boolean;
  /** What was checked, e.g. "412 users". */
  checked: string;
  /** The first few breaches, each naming its ids. */
  violations: string[];
  violationCount: number;
}

export interface InvariantContext {
  stack: ChaosStack;
  load: LoadDriver;
  faults: FaultRecord[];
  settle: SettleResult;
  startedAt: number;
}

const SHOWN_VIOLATIONS = 10;
/** A 503 answered this soon after PostgreSQL is allowed back still belongs to its downtime. */
export const POSTGRES_RECOVERY_MARGIN_MS = 1_000;
/** A job that met a `reject` can fail up to one provider timeout after the window closed. */
const REJECT_MARGIN_MS = 6_000;

export async function checkInvariants(
  context: InvariantContext,
): Promise<{ invariants: InvariantResult[]; outbox: AccountedRow[]; records: Record<string, InspectEntry[]> }> {
  const { stack, load } = context;
  const outbox = await accountOutbox(stack.pool);
  const users = await query<{ id: string; email: string }>(stack.pool, sql`SELECT id, email FROM users`);
  const records = Object.fromEntries(
    await Promise.all(['smtp', 'crm', 'storage', 'analytics'].map(async (provider) => [provider, await stack.inspect(provider)] as const)),
  ) as Record<'smtp' | 'crm' | 'storage' | 'analytics', InspectEntry[]>;
  const explained = explainedDeadLetters(outbox, context);
  const liveIds = new Set(users.map((user) => user.id));
  const emailOf = new Map([...users.map((user) => [user.id, user.email] as const), ...[...load.signups.values()].map((s) => [s.id, s.email] as const)]);
  const deletedIds = [...load.signups.values()].filter((signup) => signup.deleted !== 'no' && !liveIds.has(signup.id)).map((signup) => signup.id);

  // One live record per logical effect, indexed once: the welcome email by its recipient, the
  // others by whose data they hold.
  const subjectOf = (provider: keyof typeof records, entry: InspectEntry): string[] => {
    if (provider === 'smtp') return entry.key.startsWith('<send-welcome-email.') ? ((entry.body as { to?: string[] }).to ?? []) : [];
    if (provider === 'crm') return [String((entry.body as { externalId?: unknown }).externalId)];
    if (provider === 'analytics') return [String((entry.body as { userId?: unknown }).userId)];
    return entry.key.startsWith('generate-avatar-') ? [entry.key.slice('generate-avatar-'.length)] : [];
  };
  const index = new Map<string, InspectEntry[]>();
  for (const provider of Object.keys(records) as Array<keyof typeof records>) {
    for (const entry of records[provider]) {
      if (entry.deletedAt !== null || entry.body === null) continue;
      for (const subject of subjectOf(provider, entry)) index.set(`${provider} ${subject}`, [...(index.get(`${provider} ${subject}`) ?? []), entry]);
    }
  }
  const liveOf = (provider: keyof typeof records, userId: string): InspectEntry[] =>
    index.get(`${provider} ${provider === 'smtp' ? (emailOf.get(userId) ?? '') : userId}`) ?? [];
  const effectJob = { smtp: 'send-welcome-email', crm: 'sync-crm-contact', storage: 'generate-avatar', analytics: 'track-signup-event' } as const;
  const erasureJob = { crm: 'erase-crm-contact', storage: 'erase-avatar', analytics: 'erase-analytics-events' } as const;
  // Every job of a user is named `<job>-<userId>` (each contract's jobId).
  const jobIdOf = (job: string, userId: string) => `${job}-${userId}`;
  const isExplained = (job: string, userId: string) => explained.has(jobIdOf(job, userId));

  const invariants: InvariantResult[] = [];
  const add = (name: string, checked: string, violations: string[]) =>
    invariants.push({ name, ok: violations.length === 0, checked, violations: violations.slice(0, SHOWN_VIOLATIONS), violationCount: violations.length });

  add('the soak settled before its deadline', 'queues and outbox', context.settle.settled ? [] : [`still pending: ${context.settle.pending}`]);

  const accepted = [...load.signups.values()];
  add(
    'every accepted signup (201) exists, unless deleted',
    `${accepted.length} accepted signups`,
    accepted.flatMap((signup) => {
      if (signup.deleted === 'no' && !liveIds.has(signup.id)) return [`user ${signup.id} answered 201 and does not exist`];
      if (signup.deleted === 'yes' && liveIds.has(signup.id)) return [`user ${signup.id} was deleted (204) and still exists`];
      return [];
    }),
  );

  add(
    'every account has exactly one effect per provider (welcome email, contact, avatar, event)',
    `${users.length} accounts × 4 providers`,
    users.flatMap((user) =>
      (['smtp', 'crm', 'storage', 'analytics'] as const).flatMap((provider) => {
        const count = liveOf(provider, user.id).length;
        if (count === 1) return [];
        if (count === 0 && isExplained(effectJob[provider], user.id)) return [];
        return [`user ${user.id}: ${count} ${provider} effects (job ${jobIdOf(effectJob[provider], user.id)})`];
      }),
    ),
  );

  add(
    'a deleted account has nothing left at the CRM, storage or analytics',
    `${deletedIds.length} deleted accounts × 3 providers (emails sent cannot be recalled)`,
    deletedIds.flatMap((userId) =>
      (['crm', 'storage', 'analytics'] as const).flatMap((provider) => {
        const left = liveOf(provider, userId);
        if (left.length === 0 || isExplained(erasureJob[provider], userId)) return [];
        return [`deleted user ${userId}: ${provider} still holds ${left.map((entry) => entry.key).join(', ')}`];
      }),
    ),
  );

  add(
    'no provider holds two effects for one idempotency key or one subject',
    'every provider record',
    (Object.keys(records) as Array<keyof typeof records>).flatMap((provider) => {
      const keys = records[provider].map((entry) => entry.key);
      const repeatedKeys = keys.filter((key, index) => keys.indexOf(key) !== index).map((key) => `${provider}: key ${key} recorded twice`);
      const subjects = records[provider]
        // An erasure's own request is recorded under `DELETE <path>`: a deletion, not an effect.
        .filter((entry) => entry.deletedAt === null && entry.body !== null && !entry.key.startsWith('DELETE '))
        .map((entry) =>
          provider === 'crm' ? `contact of ${String((entry.body as { externalId?: unknown }).externalId)}`
          : provider === 'analytics' ? `event ${String((entry.body as { event?: unknown }).event)} of ${String((entry.body as { userId?: unknown }).userId)}`
          : undefined,
        )
        .filter((subject): subject is string => subject !== undefined);
      const repeatedSubjects = subjects.filter((subject, index) => subjects.indexOf(subject) !== index).map((subject) => `${provider}: two live records for the ${subject}`);
      return [...repeatedKeys, ...repeatedSubjects];
    }),
  );

  add(
    'every effect PostgreSQL recorded is at its provider',
    'welcome_emails, sent_emails, crm_contacts, avatars, analytics_events',
    await recordedEffectsMissingAtProviders(stack, records),
  );

  add(
    'no job is lost: every outbox row is done, skipped on purpose, dead-lettered, or owed to nobody',
    `${outbox.length} outbox rows`,
    outbox.filter((row) => row.state === 'undispatched' || row.state === 'unaccounted').map((row) => `${row.state}: ${row.queue} job ${row.jobId}`),
  );

  add(
    'every dead letter is explained by a fault (no dead letter for a transient fault that healed)',
    `${outbox.filter((row) => row.state === 'dead-lettered').length} dead-lettered jobs`,
    outbox
      .filter((row) => row.state === 'dead-lettered' && !explained.has(row.jobId))
      .map((row) => `${row.queue} job ${row.jobId}: ${row.deadLetters.at(-1)?.lastError ?? 'no error'}`),
  );

  const { outside } = classifyServerErrors(load.requests, context.faults);
  add(
    'no 5xx outside PostgreSQL\'s own downtime (where 503 is right)',
    `${load.requests.length} requests`,
    outside.map((request) => `${request.kind} at +${(request.sentAt / 1_000).toFixed(1)} s answered ${request.status}${request.userId ? ` (user ${request.userId})` : ''}`),
  );

  return { invariants, outbox, records };
}

/** Dead-lettered job ids a fault explains: a `reject` on the job's provider, or worker kills past the stall limit. */
function explainedDeadLetters(outbox: AccountedRow[], { faults, startedAt }: InvariantContext): Set<string> {
  const explained = new Set<string>();
  const workerKilled = faults.some((fault) => (fault.window.kind === 'kill' || fault.window.kind === 'stop') && fault.window.target !== 'web' && fault.appliedAt !== undefined);
  for (const row of outbox) {
    const letter = row.deadLetters.at(-1);
    if (!letter) continue;
    const failedAt = new Date(letter.failedAt).getTime() - startedAt;
    const rejected =
      /422|rejected/i.test(letter.lastError) &&
      faults.some(
        (fault) =>
          fault.window.kind === 'provider' &&
          fault.window.mode === 'reject' &&
          fault.window.target === providerOfQueue(row.queue) &&
          fault.appliedAt !== undefined &&
          failedAt >= fault.appliedAt &&
          failedAt <= (fault.healedAt ?? Infinity) + REJECT_MARGIN_MS,
      );
    const stalled = /stalled/i.test(letter.lastError) && workerKilled;
    if (rejected || stalled) explained.add(row.jobId);
  }
  return explained;
}

/** 5xx answers, split by whether they fall in a PostgreSQL refusal (its window, plus a second). */
export function classifyServerErrors(requests: RequestRecord[], faults: FaultRecord[]): { during: RequestRecord[]; outside: RequestRecord[] } {
  const downtimes = faults
    .filter((fault) => fault.window.kind === 'postgres-refuse' && fault.appliedAt !== undefined)
    .map((fault) => [fault.appliedAt as number, (fault.healedAt ?? Infinity) + POSTGRES_RECOVERY_MARGIN_MS] as const);
  const serverErrors = requests.filter((request) => typeof request.status === 'number' && request.status >= 500);
  const inDowntime = (request: RequestRecord) =>
    request.status === 503 && downtimes.some(([from, to]) => request.sentAt <= to && request.answeredAt >= from);
  return { during: serverErrors.filter(inDowntime), outside: serverErrors.filter((request) => !inDowntime(request)) };
}

async function recordedEffectsMissingAtProviders(stack: ChaosStack, records: Record<string, InspectEntry[]>): Promise<string[]> {
  const rows = await query<{ provider: string; key: string; what: string }>(stack.pool, sql`
    SELECT 'smtp' AS provider, message_id AS key, 'welcome email of ' || user_id AS what FROM welcome_emails
    UNION ALL SELECT 'smtp', message_id, kind || ' email ' || job_id FROM sent_emails
    UNION ALL SELECT 'crm', 'sync-crm-contact-' || user_id, 'contact of ' || user_id FROM crm_contacts
    UNION ALL SELECT 'storage', 'generate-avatar-' || user_id, 'avatar of ' || user_id FROM avatars
    UNION ALL SELECT 'analytics', event_id, 'event ' || event_id FROM analytics_events`);
  const keys = new Map(Object.entries(records).map(([provider, entries]) => [provider, new Set(entries.map((entry) => entry.key))]));
  return rows.filter((row) => !keys.get(row.provider)?.has(row.key)).map((row) => `${row.what}: no ${row.provider} record under ${row.key}`);
}
