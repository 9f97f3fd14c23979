// Issue #9: the system on a Valkey Cluster loses a primary mid-load. A private six-node cluster
// (three primaries, one replica each) on loopback; signups arrive while the workers run; the
// process of the primary that holds the CRM queue's slot is SIGKILLed. Its replica takes over
// after the node timeout, and then every signup's four effects are applied, each exactly once.
//
// What carries the guarantee, and what the test shows of it:
//   - a signup during the failover still answers: its fast path fails within 500 ms and its jobs
//     wait in the outbox (they are dispatched here as the relay would, the relay itself would
//     also claim other test files' rows in the shared database);
//   - replication is asynchronous, so jobs the dead primary acknowledged may never have reached
//     its replica: the reconciler finds every dispatched job whose effect is missing and whose job
//     Valkey no longer holds, and adds it again (here one pass over this test's rows);
//   - a job that runs twice (its lock or its completion was lost with the primary) finds its
//     effect stored and calls no provider, or, if the first run has not stored it yet, calls the
//     provider with the same idempotency key or Message-ID, which the provider recognises. With
//     the 5 s lock used here, a failover of about 3 s does make jobs run twice.
import type { Prisma } from '@/lib/generated/prisma/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { formatClusterNodes } from '@/lib/config';
import { dispatchNow } from '@/lib/outbox';
import { toOutboxRow } from '@/tests/helpers/outbox-rows';
import { queuePrefix } from '@/lib/queues';
import { hashTag, keysMatching } from '@/lib/valkey';
import { SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { backdate } from '@/tests/helpers/reconcile-window';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyCluster, type ValkeyCluster } from '@/tests/helpers/valkey-cluster';

const BEFORE_KILL = 20;
const DURING_FAILOVER = 20;
let cluster: ValkeyCluster;
let stack: TestStack;
let workers: RunningWorkers | undefined;

beforeAll(async () => {
  cluster = await startValkeyCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1_000 });
  stack = await startTestStack({
    VALKEY_CLUSTER_NODES: formatClusterNodes(cluster.nodes),
    // Short locks, so jobs whose lock the failover lost come back within seconds, not 30.
    WORKER_LOCK_DURATION_MS: '5000',
    WORKER_STALLED_INTERVAL_MS: '2000',
  });
}, 60_000);
afterAll(async () => {
  await workers?.close(5_000);
  await stack?.close().catch(() => undefined);
  await cluster?.stop();
});

describe('a Valkey Cluster primary killed mid-load', () => {
  it('fails over to its replica, and every signup made before, during and after gets each effect exactly once', async () => {
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
    const users: string[] = [];
    const signUp = async () => {
      const outcome = await createSignup(uniqueSignup(), { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
      if (outcome.status !== 'created') throw new Error(`signup refused: ${outcome.status}`);
      users.push(outcome.userId);
    };

    for (let i = 0; i < BEFORE_KILL; i += 1) await signUp();
    // The CRM queue's slot: its jobs are the slowest, so some are waiting or running right now.
    const crmKey = `${queuePrefix(stack.config.queuePrefix, 'crm')}:wait`;
    const victim = await cluster.primaryFor(crmKey);
    await cluster.kill(victim);
    for (let i = 0; i < DURING_FAILOVER; i += 1) await signUp();

    const promoted = await cluster.failedOver(crmKey, victim);
    expect(promoted.port).not.toBe(victim.port);
    for (let i = 0; i < 5; i += 1) await signUp();

    // What the relay does for rows whose fast path met the dead primary.
    await waitFor(
      async () => {
        const pending = await stack.db.outboxMessage.findMany({ where: mine(users, { dispatchedAt: null, availableAt: { lte: new Date() } }) });
        if (pending.length === 0) return true;
        await dispatchNow(stack.pool, stack.dispatch, pending.map(toOutboxRow));
        return false;
      },
      { what: 'every due outbox row of these signups to be dispatched', timeoutMs: 30_000, intervalMs: 250 },
    );
    // What the reconciler does for jobs the replica never received.
    const { window } = await backdate(stack.db, users);
    await reconcileOnce(stack.pool, stack.queues, window);

    await waitFor(async () => (await missingEffects(users)).length === 0 || undefined, {
      what: 'every signup to have its four effects',
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    // Exactly once at the providers: per signup and provider one record (keys are derived from the
    // job: the CRM's idempotency key, the email's Message-ID, …), applied once. Deliveries may be
    // more than one: a job whose lock was lost with the primary ran again while the first run
    // still waited on Valkey, and the provider recognised the key and applied nothing.
    for (const { provider } of SIGNUP_JOBS) {
      const records = await stack.inspect(provider);
      for (const userId of users) {
        const ours = records.filter((record) => record.key.includes(userId));
        expect(ours, `${provider} for ${userId}`).toHaveLength(1);
        expect(ours[0]?.body, `${provider} for ${userId}`).not.toBeNull();
      }
    }

    // Every key the run wrote (queues, workspace clocks, breakers) carries a hash tag, so no
    // command or script of ours could have crossed slots.
    const keys = await keysMatching(stack.producer, `${stack.config.queuePrefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !hashTag(key))).toEqual([]);
  }, 120_000);
});

function mine(users: string[], where: Prisma.OutboxMessageWhereInput): Prisma.OutboxMessageWhereInput {
  const jobIds = users.flatMap((userId) => SIGNUP_JOBS.map((contract) => contract.jobId({ userId })));
  return { ...where, jobId: { in: jobIds } };
}

/** `<user>:<kind>` for every effect not stored yet. */
async function missingEffects(users: string[]): Promise<string[]> {
  const rows = await stack.db.user.findMany({
    where: { id: { in: users } },
    select: { id: true, welcomeEmail: { select: { id: true } }, crmContact: { select: { id: true } }, avatar: { select: { id: true } }, analyticsEvents: { select: { id: true } } },
  });
  return rows.flatMap((row) => [
    ...(row.welcomeEmail ? [] : [`${row.id}:welcome-email`]),
    ...(row.crmContact ? [] : [`${row.id}:crm-contact`]),
    ...(row.avatar ? [] : [`${row.id}:avatar`]),
    ...(row.analyticsEvents.length > 0 ? [] : [`${row.id}:analytics-event`]),
  ]);
}
