// An outbox row as Prisma reads it, in the shape the outbox dispatches: for tests that find pending
// rows through Prisma and then do what the relay would.
import type { OutboxRow } from '@/lib/outbox';
import type { QueueName } from '@/lib/queues';

interface PrismaOutboxRow {
  id: bigint;
  queue: string;
  jobName: string;
  jobId: string;
  payload: unknown;
  tenant: string | null;
  availableAt: Date | null;
}

export function toOutboxRow(row: PrismaOutboxRow): OutboxRow {
  return {
    id: row.id,
    queue: row.queue as QueueName,
    jobName: row.jobName,
    jobId: row.jobId,
    payload: row.payload as Record<string, unknown>,
    tenant: row.tenant,
    availableAt: row.availableAt ?? undefined,
  };
}
