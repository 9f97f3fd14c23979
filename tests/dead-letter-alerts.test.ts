// Dead-letter alerts against the real test database and the mock `alerts` webhook: a burst becomes
// one alert with a count per failure fingerprint, one outage stays one alert across windows,
// cancelled jobs never alert, a failed webhook call loses nothing, and a resend after a crash
// carries the same idempotency key. Other test files share the database, so every test uses its
// own queue names and asserts only on its own rows and on the alert entries for its queues.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '@/lib/sql';
import type { Logger } from '@/lib/log';
import {
  sendPendingAlerts,
  startDeadLetterAlerts,
  type DeadLetterAlert,
  type DeadLetterAlertDeps,
} from '@/workers/loops/dead-letter-alerts';
import { TransientProviderError } from '@/workers/providers/provider-errors';
import { quietLog, startTestStack, waitFor, type InspectedEffect, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
let deps: DeadLetterAlertDeps;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { pool: stack.pool, log: quietLog, webhookUrl: `${stack.mocksUrl}/alerts`, providerTimeoutMs: 2_000 };
  // The mock webhook allows 10 posts a second, as a chat API would, and these tests make one
  // post per pass, several passes a second. A 429 here would test the mock's limit, not the
  // alerts, so this file's webhook is unlimited; the setting outlives afterEach's mode reset.
  await stack.setFault('alerts', { mode: 'up', rateLimitPerSecond: 0 });
});
afterEach(async () => {
  await stack.setFault('alerts', { mode: 'up' });
});
afterAll(async () => {
  await stack.close();
});

/** A payload that must never reach an alert. */
const SECRET = `secret-${randomUUID()}`;

async function insertDeadLetters(
  queue: string,
  count: number,
  {
    jobName = 'sync-crm-contact',
    lastError = 'crm: POST /contacts answered 422',
    kind = 'failed',
  }: { jobName?: string; lastError?: string | ((n: number) => string); kind?: 'failed' | 'cancelled' } = {},
): Promise<bigint[]> {
  const prefix = `test-${randomUUID()}`;
  const failedAt = new Date();
  await stack.db.deadLetter.createMany({
    data: Array.from({ length: count }, (_, n) => ({
      queue,
      jobName,
      jobId: `${prefix}-${n}`,
      payload: { userId: SECRET, email: `${SECRET}@example.test` },
      options: { attempts: 5 },
      attemptsMade: 5,
      attemptErrors: [],
      lastError: typeof lastError === 'function' ? lastError(n) : lastError,
      kind,
      firstFailedAt: failedAt,
      failedAt,
    })),
  });
  const rows = await stack.db.deadLetter.findMany({
    where: { jobId: { startsWith: prefix } },
    select: { id: true },
    orderBy: { id: 'asc' },
  });
  return rows.map((row) => row.id);
}

async function unalertedCount(ids: bigint[]): Promise<number> {
  return stack.db.deadLetter.count({ where: { id: { in: ids }, alertedAt: null } });
}

type AlertRecord = InspectedEffect & { body: DeadLetterAlert };

/** The delivered alerts that mention any of `queues`. */
async function alertsAbout(...queues: string[]): Promise<AlertRecord[]> {
  const records = (await stack.inspect('alerts')) as Array<InspectedEffect & { body: DeadLetterAlert | null }>;
  return records.filter((record): record is AlertRecord =>
    Boolean(record.body?.failures?.some((failure) => queues.includes(failure.queue))),
  );
}

/** Refused attempts (the mock keeps no body for them) whose claim covered all of `ids`. */
async function refusedAttemptsCovering(ids: bigint[]): Promise<InspectedEffect[]> {
  const [first, last] = [ids[0] ?? 0n, ids.at(-1) ?? 0n];
  return (await stack.inspect('alerts')).filter((record) => {
    const range = /^dead-letters-(\d+)-(\d+)$/.exec(record.key);
    return record.failures > 0 && range !== null && BigInt(range[1] ?? -1) <= first && BigInt(range[2] ?? -1) >= last;
  });
}

function groupOf(alert: DeadLetterAlert, queue: string) {
  return alert.failures.find((failure) => failure.queue === queue);
}

const uniqueQueue = () => `q-${randomUUID()}`;

describe('dead-letter alerts', () => {
  describe('when 1,000 jobs are dead-lettered across two queues', () => {
    it('sends one alert with a count per failure fingerprint and marks every row alerted', async () => {
      const [crm, email] = [uniqueQueue(), uniqueQueue()];
      const crmIds = await insertDeadLetters(crm, 600, { lastError: 'crm: POST /contacts answered 422 invalid' });
      const emailIds = await insertDeadLetters(email, 400, {
        jobName: 'send-welcome-email',
        lastError: 'smtp: 550 mailbox unavailable',
      });

      const result = await sendPendingAlerts(deps);

      expect(result.posted).toBe(true);
      expect(result.alerted).toBeGreaterThanOrEqual(1_000);
      expect(await unalertedCount([...crmIds, ...emailIds])).toBe(0);
      const records = await alertsAbout(crm, email);
      expect(records).toHaveLength(1);
      const [record] = records;
      expect(record?.deliveries).toBe(1);
      expect(record?.body.kind).toBe('dead-letters');
      expect(record && groupOf(record.body, crm)).toMatchObject({
        status: 'new',
        errorClass: 'Error',
        message: 'crm: POST /contacts answered 422 invalid',
        sinceLastAlert: 600,
        sinceOpened: 600,
        jobNames: { 'sync-crm-contact': 600 },
        sampleErrors: ['crm: POST /contacts answered 422 invalid'],
      });
      expect(record && groupOf(record.body, email)).toMatchObject({
        sinceLastAlert: 400,
        jobNames: { 'send-welcome-email': 400 },
        sampleErrors: ['smtp: 550 mailbox unavailable'],
      });
      expect(record?.key).toBe(`dead-letters-${record?.body.deadLetterIds.first}-${record?.body.deadLetterIds.last}`);
    });

    it('carries ids and error messages but no payload or personal data', async () => {
      const queue = uniqueQueue();
      await insertDeadLetters(queue, 3);

      await sendPendingAlerts(deps);

      const [record] = await alertsAbout(queue);
      expect(record).toBeDefined();
      const text = JSON.stringify(record?.body);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('payload');
      expect(text).not.toContain('@example.test');
    });
  });

  describe('when a queue fails in two different ways', () => {
    it('lists each fingerprint apart, with at most three raw samples of each, cut to 200 characters', async () => {
      const queue = uniqueQueue();
      await insertDeadLetters(queue, 8, { lastError: (n) => `crm: contact ${1_000 + n} refused ${'x'.repeat(500)}` });
      await insertDeadLetters(queue, 2, { lastError: 'crm: POST /contacts answered 401 credentials refused' });

      await sendPendingAlerts(deps);

      const [record] = await alertsAbout(queue);
      const failures = record?.body.failures.filter((failure) => failure.queue === queue) ?? [];
      expect(failures.map((failure) => [failure.message.slice(0, 30), failure.sinceLastAlert])).toEqual([
        ['crm: contact <n> refused xxxxx', 8],
        ['crm: POST /contacts answered 4', 2],
      ]);
      expect(failures[0]?.sampleErrors).toEqual(
        [1_000, 1_001, 1_002].map((id) => `crm: contact ${id} refused ${'x'.repeat(500)}`.slice(0, 200)),
      );
    });
  });

  describe('when one outage goes on across several windows', () => {
    const outage = (queue: string) => ({ lastError: (n: number) => `crm: POST /contacts/${queue}-${n} answered 503 after ${n * 7} ms` });

    it('sends one alert, and counts the later dead letters without another', async () => {
      const queue = uniqueQueue();
      const ids = [...(await insertDeadLetters(queue, 5, outage(queue)))];
      await sendPendingAlerts(deps);
      for (let window = 0; window < 3; window += 1) {
        ids.push(...(await insertDeadLetters(queue, 4, outage(queue))));
        await sendPendingAlerts(deps);
      }

      expect(await unalertedCount(ids)).toBe(0);
      const records = await alertsAbout(queue);
      expect(records).toHaveLength(1);
      expect(records[0] && groupOf(records[0].body, queue)).toMatchObject({ status: 'new', sinceLastAlert: 5 });
      const stored = await stack.db.deadLetter.findMany({ where: { id: { in: ids } }, distinct: ['fingerprint'] });
      expect(stored.map((row) => row.fingerprint)).toEqual([records[0] && groupOf(records[0].body, queue)?.fingerprint]);
    });

    it('sends a follow-up with the count once the follow-up interval has passed', async () => {
      const queue = uniqueQueue();
      await insertDeadLetters(queue, 5, outage(queue));
      await sendPendingAlerts(deps);
      await insertDeadLetters(queue, 3, outage(queue));
      await sendPendingAlerts(deps);
      await insertDeadLetters(queue, 2, outage(queue));

      await sendPendingAlerts(deps, { followUpMs: 0 });

      const bodies = (await alertsAbout(queue)).map((record) => record.body);
      expect(bodies.map((body) => groupOf(body, queue))).toMatchObject([
        { status: 'new', sinceLastAlert: 5, sinceOpened: 5 },
        { status: 'ongoing', sinceLastAlert: 5, sinceOpened: 10 },
      ]);
    });

    it('announces it afresh after it has been quiet', async () => {
      const queue = uniqueQueue();
      await insertDeadLetters(queue, 2, outage(queue));
      await sendPendingAlerts(deps);
      await insertDeadLetters(queue, 3, outage(queue));

      await sendPendingAlerts(deps, { quietMs: 0 });

      const bodies = (await alertsAbout(queue)).map((record) => record.body);
      expect(bodies.map((body) => groupOf(body, queue))).toMatchObject([
        { status: 'new', sinceLastAlert: 2 },
        { status: 'new', sinceLastAlert: 3, sinceOpened: 3 },
      ]);
    });
  });

  describe('when an operator cancelled jobs', () => {
    it('never alerts about them, in a pass or in the loop', async () => {
      const queue = uniqueQueue();
      const cancelled = await insertDeadLetters(queue, 4, { kind: 'cancelled', lastError: 'cancelled by an operator' });

      await sendPendingAlerts(deps);
      // A letter that does alert, so waiting for it proves the loop ran passes over the cancelled ones.
      const failed = await insertDeadLetters(uniqueQueue(), 1);
      const alerts = startDeadLetterAlerts(deps, { windowMs: 50 });
      try {
        await waitFor(async () => (await unalertedCount(failed)) === 0, { what: 'the failed letter alerted' });
      } finally {
        await alerts.stop();
      }

      expect(await alertsAbout(queue)).toEqual([]);
      expect(await unalertedCount(cancelled)).toBe(4);
    });
  });

  describe('when the next pass finds nothing new', () => {
    it('sends no second alert about rows already alerted', async () => {
      const queue = uniqueQueue();
      const ids = await insertDeadLetters(queue, 5);
      await sendPendingAlerts(deps);
      const alertedAt = (await stack.db.deadLetter.findFirst({ where: { id: ids[0] } }))?.alertedAt;

      const second = await sendPendingAlerts(deps);

      // Other test files may dead-letter jobs meanwhile; a pass sends only when it claimed some.
      expect(second.posted).toBe(second.alerted > 0);
      const records = await alertsAbout(queue);
      expect(records.map((record) => record.deliveries)).toEqual([1]);
      expect((await stack.db.deadLetter.findFirst({ where: { id: ids[0] } }))?.alertedAt).toEqual(alertedAt);
    });
  });

  describe('when the webhook is down', () => {
    it('fails the pass, leaves the rows unalerted, and sends them once the webhook is back', async () => {
      const queue = uniqueQueue();
      const ids = await insertDeadLetters(queue, 10);
      await stack.setFault('alerts', { mode: 'down' });

      await expect(sendPendingAlerts(deps)).rejects.toBeInstanceOf(TransientProviderError);
      expect(await unalertedCount(ids)).toBe(10);
      expect(await refusedAttemptsCovering(ids)).toHaveLength(1);
      expect(await alertsAbout(queue)).toEqual([]);

      await stack.setFault('alerts', { mode: 'up' });
      await expect(sendPendingAlerts(deps)).resolves.toMatchObject({ posted: true });

      expect(await unalertedCount(ids)).toBe(0);
      const delivered = await alertsAbout(queue);
      expect(delivered.map((record) => record.deliveries)).toEqual([1]);
      expect(delivered[0] && groupOf(delivered[0].body, queue)?.sinceLastAlert).toBe(10);
    });
  });

  describe('when the process dies after the POST but before the commit', () => {
    it('resends the same claim with the same idempotency key, so the webhook dedupes it', async () => {
      await sendPendingAlerts(deps); // leaves our rows the oldest unalerted ones
      const queue = uniqueQueue();
      const ids = await insertDeadLetters(queue, 20);

      const dying = { ...deps, pool: rollingBackAtCommit(stack.pool) };
      await expect(sendPendingAlerts(dying, { batchLimit: ids.length })).rejects.toThrow('process died before commit');
      expect(await unalertedCount(ids)).toBe(20);

      await sendPendingAlerts(deps, { batchLimit: ids.length });

      expect(await unalertedCount(ids)).toBe(0);
      const records = await alertsAbout(queue);
      const key = `dead-letters-${ids[0]}-${ids.at(-1)}`;
      expect(records.map((record) => [record.key, record.deliveries])).toEqual([[key, 2]]);
    });
  });

  describe('without ALERT_WEBHOOK_URL', () => {
    it('logs each fingerprint once at warn level and still marks the rows alerted', async () => {
      const queue = uniqueQueue();
      const ids = await insertDeadLetters(queue, 7);
      const warnings: Array<Record<string, unknown>> = [];
      const log: Logger = { ...quietLog, warn: (_message, fields = {}) => warnings.push(fields) };
      const before = (await stack.inspect('alerts')).length;

      const result = await sendPendingAlerts({ ...deps, log, webhookUrl: undefined });

      expect(result.posted).toBe(false);
      expect(await unalertedCount(ids)).toBe(0);
      expect(warnings.filter((fields) => fields.queue === queue)).toEqual([
        expect.objectContaining({ queue, count: 7, jobNames: 'sync-crm-contact=7' }),
      ]);
      expect(JSON.stringify(warnings)).not.toContain(SECRET);
      expect(await stack.inspect('alerts')).toHaveLength(before);
    });
  });

  describe('the loop', () => {
    it('sends pending dead letters every window until stopped', async () => {
      const queue = uniqueQueue();
      const ids = await insertDeadLetters(queue, 4);
      const alerts = startDeadLetterAlerts(deps, { windowMs: 100 });
      try {
        await waitFor(async () => (await unalertedCount(ids)) === 0, { what: 'rows alerted by the loop' });
      } finally {
        await alerts.stop();
      }
      expect((await alertsAbout(queue)).map((record) => record.deliveries)).toEqual([1]);
    });
  });
});

/** The database as a process sees it that dies right before commit: the transaction rolls back. */
/** A pool whose transactions roll back where they would commit, as if the process died there. */
function rollingBackAtCommit(pool: Pool): Pool {
  const connect = async () => {
    const client = await pool.connect();
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const dying = (...args: unknown[]) => {
      if (args[0] !== 'COMMIT') return query(...args);
      return query('ROLLBACK').then(() => Promise.reject(new Error('process died before commit')));
    };
    return new Proxy(client, { get: (target, property) => (property === 'query' ? dying : Reflect.get(target, property)) });
  };
  return new Proxy(pool, { get: (target, property) => (property === 'connect' ? connect : Reflect.get(target, property)) });
}
