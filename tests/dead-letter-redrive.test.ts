// Redrives end to end on the real PostgreSQL and Valkey: the admin API previews and starts them,
// pauses, resumes and cancels them; the workers' batches (workers/maintenance/dead-letter-redrive.ts)
// replay exactly the matching dead letters, each once, through the one replay path.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { previewRedriveRequest, startRedriveRequest, changeRedriveRequest, type RedriveDeps } from '@/app/_admin/dead-letters/redrive-requests';
import { fingerprintOfDeadLetter } from '@/lib/failure-fingerprint';
import { syncCrmContact } from '@/workers/jobs/job-contracts';
import { runRedriveBatch, startDeadLetterRedrives } from '@/workers/maintenance/dead-letter-redrive';
import { startMaintenance } from '@/workers/maintenance/maintenance-queue';
import { adminRequest, basicAuth } from '@/tests/helpers/admin-request';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };

let stack: TestStack;
let deps: RedriveDeps;

beforeAll(async () => {
  stack = await startTestStack();
  // Fast enough that pacing never slows a test; the spacing itself is the replay path's (admin-dlq.test.ts).
  deps = { pool: stack.pool, admin: ADMIN, replayPerSecond: 100_000 };
});
// At most one redrive runs at a time: each test leaves none running for the next.
afterEach(async () => {
  await stack.pool.query(`UPDATE dead_letter_redrives SET status = 'cancelled' WHERE status IN ('running', 'paused')`);
});
afterAll(() => stack.close());

const workers = () => ({ pool: stack.pool, queues: stack.queues, log: quietLog });

function request(method: string, url: string, options: { body?: unknown; origin?: string } = {}) {
  return adminRequest(method, url, { rightAuth: basicAuth(ADMIN.user, ADMIN.password), ...options });
}

/** `count` CRM dead letters whose last error carries `marker`; ids in insertion order. */
async function deadLetters(
  count: number,
  marker: string,
  { kind = 'failed', failedAt = new Date() }: { kind?: 'failed' | 'cancelled'; failedAt?: Date } = {},
): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let n = 0; n < count; n += 1) {
    const userId = randomUUID();
    const lastError = `crm: POST /crm/contacts answered 422 ${marker} for ${userId}`;
    const row = await stack.db.deadLetter.create({
      data: {
        queue: 'crm',
        jobName: syncCrmContact.name,
        jobId: syncCrmContact.jobId({ userId }),
        payload: { userId },
        options: {},
        attemptsMade: 1,
        attemptErrors: [],
        lastError,
        kind,
        fingerprint: fingerprintOfDeadLetter({ queue: 'crm', lastError, stackTrace: null }).fingerprint,
        firstFailedAt: failedAt,
        failedAt,
      },
    });
    ids.push(row.id);
  }
  return ids;
}

async function start(filter: unknown): Promise<{ status: number; body: { redrive: { id: string; total: number; status: string } } }> {
  const response = await startRedriveRequest(request('POST', '/api/admin/dlq/redrives', { body: filter }), deps);
  return { status: response.status, body: (await response.json()) as never };
}

async function change(id: string, to: string): Promise<Response> {
  return changeRedriveRequest(request('POST', `/api/admin/dlq/redrives/${id}/${to}`), deps, id, to);
}

async function unresolved(ids: bigint[]): Promise<number> {
  return stack.db.deadLetter.count({ where: { id: { in: ids }, resolution: null } });
}

async function redriveRow(id: string) {
  return stack.db.deadLetterRedrive.findUniqueOrThrow({ where: { id: BigInt(id) } });
}

/** The CRM jobs in Valkey for these letters' job ids. */
async function queuedJobs(ids: bigint[]) {
  const letters = await stack.db.deadLetter.findMany({ where: { id: { in: ids } } });
  const jobs = await Promise.all(letters.map((letter) => stack.queues.crm.getJob(letter.jobId)));
  return jobs.filter((job) => job !== undefined);
}

describe('dead-letter redrives', () => {
  describe('the preview', () => {
    it('counts the unresolved failed letters a filter matches, with the newest few', async () => {
      const marker = `m-${randomUUID()}`;
      const matching = await deadLetters(7, marker);
      await deadLetters(2, marker, { kind: 'cancelled' });
      await deadLetters(2, `other-${randomUUID()}`);
      const old = await deadLetters(3, marker, { failedAt: new Date('2026-01-01T00:00:00Z') });

      const preview = async (query: string) => {
        const response = await previewRedriveRequest(request('GET', `/api/admin/dlq/redrives/preview?${query}`), deps);
        expect(response.status, query).toBe(200);
        return (await response.json()) as { matching: number; examples: Array<{ id: string }> };
      };

      const byText = await preview(`queue=crm&error=${marker.toUpperCase()}`);
      expect(byText.matching).toBe(10);
      expect(byText.examples.map((example) => example.id)).toEqual(
        [...matching, ...old].sort((a, b) => (a > b ? -1 : 1)).slice(0, 5).map(String),
      );
      expect((await preview(`error=${marker}&kind=cancelled`)).matching).toBe(2);
      expect((await preview(`error=${marker}&after=2026-06-01T00:00:00Z`)).matching).toBe(7);
      expect((await preview(`error=${marker}&before=2026-06-01T00:00:00Z`)).matching).toBe(3);

      const [first] = await stack.db.deadLetter.findMany({ where: { id: matching[0] } });
      const byFingerprint = await preview(`fingerprint=${first?.fingerprint}`);
      // The uuid in each message is normalised away: one fingerprint for the whole marker, any time.
      expect(byFingerprint.matching).toBe(10);
    });
  });

  describe('a redrive', () => {
    it('replays exactly the matching letters, each once, in batches, and finishes', async () => {
      const marker = `m-${randomUUID()}`;
      const matching = await deadLetters(10, marker);
      const others = [...(await deadLetters(3, `other-${randomUUID()}`)), ...(await deadLetters(2, marker, { kind: 'cancelled' }))];

      const started = await start({ error: marker });
      expect(started.status).toBe(201);
      expect(started.body.redrive).toMatchObject({ status: 'running', total: 10 });
      const { id } = started.body.redrive;

      const loop = startDeadLetterRedrives(workers(), { pollMs: 10, batchSize: 4 });
      try {
        await waitFor(async () => (await redriveRow(id)).status === 'done', { what: 'the redrive to finish' });
      } finally {
        await loop.stop();
      }

      expect(await redriveRow(id)).toMatchObject({ replayed: 10, total: 10, startedBy: 'admin' });
      expect(await unresolved(matching)).toBe(0);
      expect(await unresolved(others)).toBe(5);
      const jobs = await queuedJobs(matching);
      expect(jobs).toHaveLength(10);
      expect(jobs.every((job) => job.opts.attempts === syncCrmContact.options.attempts)).toBe(true);
      expect(await queuedJobs(others)).toEqual([]);
      const audit = await stack.db.deadLetterAction.findMany({ where: { note: `redrive #${id}` }, orderBy: { id: 'asc' } });
      expect(audit.map((row) => [row.action, row.actor, row.count])).toEqual([
        ['replay', 'admin', 4],
        ['replay', 'admin', 4],
        ['replay', 'admin', 2],
      ]);
      expect(audit.flatMap((row) => row.deadLetterIds as string[]).sort()).toEqual(matching.map(String).sort());
    });

    it('leaves out dead letters that arrive after it started', async () => {
      const marker = `m-${randomUUID()}`;
      await deadLetters(2, marker);
      const { body } = await start({ error: marker });
      const later = await deadLetters(2, marker);

      while ((await runRedriveBatch(workers(), { batchSize: 1 }))?.status === 'running');

      expect(await redriveRow(body.redrive.id)).toMatchObject({ status: 'done', replayed: 2 });
      expect(await unresolved(later)).toBe(2);
    });

    it('stops while paused and goes on after a resume', async () => {
      const marker = `m-${randomUUID()}`;
      const ids = await deadLetters(7, marker);
      const { id } = (await start({ error: marker })).body.redrive;

      await runRedriveBatch(workers(), { batchSize: 3 });
      expect((await change(id, 'pause')).status).toBe(200);
      expect(await runRedriveBatch(workers(), { batchSize: 3 })).toBeUndefined();
      expect(await redriveRow(id)).toMatchObject({ status: 'paused', replayed: 3, changedBy: 'admin' });
      expect(await unresolved(ids)).toBe(4);

      expect((await change(id, 'resume')).status).toBe(200);
      await runRedriveBatch(workers(), { batchSize: 3 });
      expect(await redriveRow(id)).toMatchObject({ status: 'running', replayed: 6 });
      await runRedriveBatch(workers(), { batchSize: 3 });
      expect(await redriveRow(id)).toMatchObject({ status: 'done', replayed: 7 });
      expect(await unresolved(ids)).toBe(0);
    });

    it('stops for good when cancelled, leaving the rest unresolved', async () => {
      const marker = `m-${randomUUID()}`;
      const ids = await deadLetters(6, marker);
      const { id } = (await start({ error: marker })).body.redrive;
      await runRedriveBatch(workers(), { batchSize: 2 });

      expect((await change(id, 'cancel')).status).toBe(200);
      expect(await runRedriveBatch(workers(), { batchSize: 2 })).toBeUndefined();
      expect((await change(id, 'resume')).status).toBe(409);

      expect(await redriveRow(id)).toMatchObject({ status: 'cancelled', replayed: 2 });
      expect(await unresolved(ids)).toBe(4);
      expect(await queuedJobs(ids)).toHaveLength(2);
    });

    it('runs from the maintenance of a worker process', async () => {
      const marker = `m-${randomUUID()}`;
      const ids = await deadLetters(3, marker);
      const { id } = (await start({ error: marker })).body.redrive;
      const maintenance = startMaintenance(
        { config: stack.config, pool: stack.pool, connection: stack.workerConnection(), queues: stack.queues, log: quietLog },
        { reconcileEveryMs: 0, redrives: { pollMs: 10 } },
      );
      try {
        await waitFor(async () => (await redriveRow(id)).status === 'done', { what: 'the redrive to finish' });
      } finally {
        await maintenance.close();
      }
      expect(await unresolved(ids)).toBe(0);
    });
  });

  describe('two web replicas and two workers at once', () => {
    it('start one redrive, change it once, and replay each letter once', async () => {
      const marker = `m-${randomUUID()}`;
      const ids = await deadLetters(40, marker);

      const starts = await Promise.all([start({ error: marker }), start({ error: marker })]);
      expect(starts.map((answer) => answer.status).sort()).toEqual([201, 409]);
      const id = starts.find((answer) => answer.status === 201)?.body.redrive.id ?? '';

      const pauses = await Promise.all([change(id, 'pause'), change(id, 'pause')]);
      expect(pauses.map((answer) => answer.status).sort()).toEqual([200, 409]);
      await change(id, 'resume');

      const loops = [startDeadLetterRedrives(workers(), { pollMs: 5, batchSize: 3 }), startDeadLetterRedrives(workers(), { pollMs: 5, batchSize: 3 })];
      try {
        await waitFor(async () => (await redriveRow(id)).status === 'done', { what: 'the redrive to finish' });
      } finally {
        await Promise.all(loops.map((loop) => loop.stop()));
      }

      const audit = await stack.db.deadLetterAction.findMany({ where: { note: `redrive #${id}` } });
      const replayed = audit.flatMap((row) => row.deadLetterIds as string[]);
      expect(replayed).toHaveLength(40);
      expect(new Set(replayed).size).toBe(40);
      expect(await redriveRow(id)).toMatchObject({ replayed: 40 });
      expect(await unresolved(ids)).toBe(0);
    });
  });

  describe('bad requests', () => {
    it('refuses bad filters with 400 and starts nothing', async () => {
      const marker = `m-${randomUUID()}`;
      const ids = await deadLetters(2, marker);
      const before = await stack.db.deadLetterRedrive.count();
      for (const body of [
        { queue: 'nope' },
        { error: '' },
        { error: 'x'.repeat(201) },
        { fingerprint: 'not-hex' },
        { kind: 'lost' },
        { after: 'yesterday' },
        { after: '2026-06-02T00:00:00Z', before: '2026-06-01T00:00:00Z' },
        { error: marker, limit: 5 },
        [],
        'not json',
      ]) {
        const response = await startRedriveRequest(request('POST', '/api/admin/dlq/redrives', { body }), deps);
        expect(response.status, JSON.stringify(body)).toBe(400);
      }
      const empty = await startRedriveRequest(new Request('http://app.test/api/admin/dlq/redrives', {
        method: 'POST',
        headers: { host: 'app.test', authorization: basicAuth(ADMIN.user, ADMIN.password) },
      }), deps);
      expect(empty.status).toBe(400);
      for (const query of ['queue=nope', 'after=yesterday', 'limit=3']) {
        const response = await previewRedriveRequest(request('GET', `/api/admin/dlq/redrives/preview?${query}`), deps);
        expect(response.status, query).toBe(400);
      }
      expect(await stack.db.deadLetterRedrive.count()).toBe(before);
      expect(await unresolved(ids)).toBe(2);
    });

    it('answers 422 when nothing matches, 404 for an unknown redrive, 400 for an unknown change', async () => {
      expect((await start({ error: `nothing-${randomUUID()}` })).status).toBe(422);
      expect((await change('999999999', 'pause')).status).toBe(404);
      expect((await change('1', 'explode')).status).toBe(400);
    });

    it('refuses a start from another site with 403 and starts nothing', async () => {
      const marker = `m-${randomUUID()}`;
      await deadLetters(1, marker);
      const before = await stack.db.deadLetterRedrive.count();
      const response = await startRedriveRequest(
        request('POST', '/api/admin/dlq/redrives', { body: { error: marker }, origin: 'https://evil.example' }),
        deps,
      );
      expect(response.status).toBe(403);
      expect(await stack.db.deadLetterRedrive.count()).toBe(before);
    });
  });
});
