// The floor a signup's CPU cost is judged against: what the same database and queue work costs when
// written as plainly as it can be, with no web server, framework, validation, metrics or logging:
// `pg` and BullMQ, one signup after another at a fixed rate. Per signup: BEGIN, the user, its status
// token's hash, its five outbox rows in one statement, COMMIT, the four jobs added (one addBulk per
// queue, the contracts' options), and the rows marked dispatched. Prints one JSON line: its CPU per signup.
//
//   node --import tsx bench/harness/signup-floor.ts --rate 100 --seconds 20
//   (DATABASE_URL, VALKEY_URL and QUEUE_PREFIX from the environment, as the bench stack sets them)
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { config } from '@/lib/config';
import { Queue } from 'bullmq';
import { QUEUE_NAMES, queuePrefix, type QueueName } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { jobOptions, sendGettingStartedEmail, SIGNUP_JOBS } from '@/workers/jobs/job-contracts';

const argument = (flag: string, fallback: number) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const rate = argument('--rate', 100);
const seconds = argument('--seconds', 20);
const warmUp = argument('--warm-up', 50);

const settings = config();
const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: 10 });
const connection = createProducerConnection(settings.valkey);
// Plain Queues: no telemetry, no listeners, nothing the floor does not need.
const queues = Object.fromEntries(
  QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix: queuePrefix(settings.queuePrefix, name) })]),
) as Record<QueueName, Queue>;
await Promise.all(Object.values(queues).map((queue) => queue.waitUntilReady()));

const FOLLOW_UP_DELAY_MS = 60_000;

async function signup(n: number): Promise<void> {
  const userId = randomUUID();
  const jobs = [
    ...SIGNUP_JOBS.map((contract) => ({ contract: contract as (typeof SIGNUP_JOBS)[number], availableAt: null as Date | null })),
    { contract: sendGettingStartedEmail, availableAt: new Date(Date.now() + FOLLOW_UP_DELAY_MS) },
  ];
  const client = await pool.connect();
  let ids: string[];
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO users (id, email, name, workspace) VALUES ($1, $2, $3, NULL)', [
      userId,
      `floor-${process.pid}-${n}@example.com`,
      `Floor ${n}`,
    ]);
    await client.query(
      "INSERT INTO access_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, 'status', now() + interval '7 days')",
      [createHash('sha256').update(randomBytes(32).toString('base64url')).digest(), userId],
    );
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO outbox_messages (queue, job_name, job_id, payload, available_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[])
       RETURNING id`,
      [
        jobs.map(({ contract }) => contract.queue),
        jobs.map(({ contract }) => contract.name),
        jobs.map(({ contract }) => contract.jobId({ userId })),
        jobs.map(() => JSON.stringify({ userId })),
        jobs.map(({ availableAt }) => availableAt ?? new Date()),
      ],
    );
    ids = inserted.rows.map((row) => row.id);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await Promise.all(
    SIGNUP_JOBS.map((contract) =>
      queues[contract.queue].addBulk([
        { name: contract.name, data: { userId }, opts: { ...jobOptions(contract.name), jobId: contract.jobId({ userId }) } },
      ]),
    ),
  );
  await pool.query('UPDATE outbox_messages SET dispatched_at = now() WHERE id = ANY($1::bigint[]) AND dispatched_at IS NULL', [
    ids.slice(0, SIGNUP_JOBS.length),
  ]);
}

/** `count` signups, one every 1/rate s, each started on schedule whatever the others are doing. */
async function atRate(count: number, offset: number): Promise<void> {
  const started = performance.now();
  const running: Array<Promise<void>> = [];
  for (let n = 0; n < count; n += 1) {
    const wait = started + (n * 1_000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    running.push(signup(offset + n));
  }
  await Promise.all(running);
}

await atRate(warmUp, 0);
const before = process.cpuUsage();
const count = Math.round(rate * seconds);
const wallStarted = performance.now();
await atRate(count, warmUp);
const used = process.cpuUsage(before);
const cpuMs = (used.user + used.system) / 1_000;
console.log(
  JSON.stringify({ signups: count, cpuMs, cpuMsPerSignup: cpuMs / count, seconds: (performance.now() - wallStarted) / 1_000 }),
);
await Promise.all(Object.values(queues).map((queue) => queue.close()));
connection.disconnect();
await pool.end();
