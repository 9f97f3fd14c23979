// One row per job for the idempotency suite (tests/job-idempotency.test.ts): how to make a job of
// that name with real work to do, how to take its reason to exist away, and how to find what its
// provider received. tests/job-registry.test.ts fails when a contract has no row here, so a new
// job cannot join the registry without joining the suite.
import { randomUUID } from 'node:crypto';
import { createSignup } from '@/app/_signup/create-signup';
import { Prisma } from '@/lib/generated/prisma/client';
import { effectKeyValue } from '@/lib/job-effects';
import type { JobContract } from '@/workers/jobs/job-contracts';
import type { TestStack } from '@/tests/helpers/test-stack';
import { uniqueSignup } from '@/tests/helpers/test-stack';

export interface JobCase {
  /** A payload whose job has work to do: its user (or invitation) exists and wants the effect. */
  payload(stack: TestStack): Promise<Record<string, unknown>>;
  /** Takes away what the job is for, and the reason its handler then gives for skipping. */
  withdraw(stack: TestStack, payload: Record<string, unknown>): Promise<string>;
  /** The part of the provider's idempotency key (or Message-ID) that is this job's own. */
  marker(payload: Record<string, unknown>): string;
}

async function newUserId(stack: TestStack): Promise<string> {
  const outcome = await createSignup(uniqueSignup(), {
    pool: stack.pool,
    queues: stack.queues,
    followUpDelayMs: stack.config.followUpDelayMs,
  });
  if (outcome.status !== 'created') throw new Error(`signup failed: ${outcome.status}`);
  return outcome.userId;
}

const userIdOf = (payload: Record<string, unknown>) => String(payload.userId);

const deleteUser = async (stack: TestStack, payload: Record<string, unknown>) => {
  await stack.db.user.delete({ where: { id: userIdOf(payload) } });
  return 'user deleted';
};

/** A signup job: its payload is the user id, and deleting the user makes it owed to nobody. */
const signupJob: JobCase = {
  payload: async (stack) => ({ userId: await newUserId(stack) }),
  withdraw: deleteUser,
  marker: userIdOf,
};

/**
 * An erasure job: its user is a deleted account's. An account with that id existing takes its reason
 * away (ids are never reused, so only a replayed or hand-made job could meet one).
 */
const erasureJob: JobCase = {
  payload: async (stack) => {
    const userId = await newUserId(stack);
    await stack.db.user.delete({ where: { id: userId } });
    return { userId };
  },
  withdraw: async (stack, payload) => {
    const id = randomUUID().slice(0, 8);
    await stack.db.user.create({ data: { id: userIdOf(payload), email: `back-${id}@example.test`, name: `Back ${id}` } });
    return 'account exists';
  },
  marker: userIdOf,
};

export const JOB_CASES: Readonly<Record<string, JobCase>> = {
  'send-welcome-email': signupJob,
  'sync-crm-contact': signupJob,
  'generate-avatar': signupJob,
  'track-signup-event': signupJob,
  'send-getting-started-email': signupJob,
  'send-verification-email': {
    // One job per press of "resend": the request id is what makes it its own email.
    payload: async (stack) => ({ userId: await newUserId(stack), requestId: randomUUID() }),
    withdraw: deleteUser,
    marker: (payload) => String(payload.requestId),
  },
  'send-invite-email': {
    payload: async (stack) => {
      const invitation = await stack.db.invitation.create({
        data: { id: randomUUID(), workspace: 'acme', email: `invitee-${randomUUID()}@example.test` },
      });
      return { invitationId: invitation.id };
    },
    withdraw: async (stack, payload) => {
      await stack.db.invitation.delete({ where: { id: String(payload.invitationId) } });
      return 'invitation withdrawn';
    },
    marker: (payload) => String(payload.invitationId),
  },
  'erase-crm-contact': erasureJob,
  'erase-analytics-events': erasureJob,
  'erase-avatar': erasureJob,
};

/** Rows in the job's effect table under its key, by the contract's own declaration. */
export async function effectRowCount(stack: TestStack, contract: JobContract, payload: Record<string, unknown>): Promise<number> {
  const { table, column } = contract.effect;
  const key = effectKeyValue(contract.effect, { jobId: contract.jobId(payload), payload });
  const [row] = await stack.db.$queryRaw<Array<{ count: number }>>`
    SELECT count(*)::int AS count FROM ${Prisma.raw(table)} WHERE ${Prisma.raw(column)}::text = ${key}`;
  return row?.count ?? 0;
}
