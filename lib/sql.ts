// Plain SQL on the process's pg pool, for the paths that run once per signup or per job: the
// producers, the handlers, the outbox relay and the workers' bookkeeping. One statement is one round
// trip and a few microseconds of our own CPU, where the same statement through Prisma's query
// compiler costs several times that (docs/benchmarks.md has the profile). Prisma stays for the
// admin's reads and the tests, over the same pool (lib/db.ts).
//
// Statements are tagged templates: every interpolated value is a bind parameter ($1, $2, …), never
// text in the SQL, and a nested sql`…` is spliced in with its own parameters renumbered. raw() is
// for names written in code (a table of lib/job-effects.ts), never for input.
import pg, { type Pool, type PoolClient } from 'pg';

export type { Pool, PoolClient };

export interface PoolOptions {
  /** Connections of this process (DATABASE_POOL_SIZE; docs/backpressure.md has the arithmetic). */
  maxConnections?: number;
  /**
   * How long to wait for a connection before giving up. 1.5 s keeps "database down" answers
   * inside the signup's 2 s budget instead of hanging on a dead host.
   */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity, so an operator can tell whose connections are whose. */
  applicationName?: string;
}

/** The process's connections to PostgreSQL; Prisma, where a process uses it, shares them. */
export function createPool(databaseUrl: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 1_500,
    application_name: options.applicationName,
    // A query that takes longer than this is a bug or an outage; fail it rather than queue behind it.
    statement_timeout: 5_000,
    // Queries a caller issues without awaiting the one before go out together: a transaction's
    // BEGIN, statements and COMMIT cost one round trip (transactionInOneTrip).
    pipeline: true,
  });
  // An idle connection the server drops (a restart) is reported here; the pool replaces it, and
  // without a listener Node would end the process on the error.
  pool.on('error', () => undefined);
  // A connection dropped while checked out (a transaction waiting on Valkey, say) reports on its
  // own client, which has no listener of the pool's: found by the chaos soak, whose PostgreSQL
  // refusals ended worker processes this way. The query in flight fails with the error, and the
  // holder hands the client back broken, so the pool does not reuse it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** True for PostgreSQL's unique-constraint violation: the row is there already. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

export class Sql {
  constructor(
    /** The text around the parameters: one more than `values`. */
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}

  /** The statement's text, parameters numbered from $1. */
  get text(): string {
    return this.strings.reduce((text, part, index) => (index === 0 ? part : `${text}$${index}${part}`), '');
  }
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const parts: string[] = [strings[0] ?? ''];
  const params: unknown[] = [];
  values.forEach((value, index) => {
    const after = strings[index + 1] ?? '';
    if (value instanceof Sql) {
      // Splice the fragment in: its first part joins ours, its last part joins what follows.
      parts[parts.length - 1] += value.strings[0] ?? '';
      for (let i = 1; i < value.strings.length; i += 1) parts.push(value.strings[i] ?? '');
      params.push(...value.values);
      parts[parts.length - 1] += after;
    } else {
      params.push(value);
      parts.push(after);
    }
  });
  return new Sql(parts, params);
}

/** Text written in code, put in as it is. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

export function join(fragments: readonly Sql[], separator = ', '): Sql {
  if (fragments.length === 0) return raw('');
  return fragments.slice(1).reduce((joined, fragment) => sql`${joined}${raw(separator)}${fragment}`, fragments[0] as Sql);
}

/** A pool or a client holding a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/** True for a pool (each statement on any connection), false for one client (a caller's transaction). */
export function isPool(db: Queryable): db is Pool {
  return db instanceof pg.Pool;
}

/** The rows the statement returns. */
export async function query<Row>(db: Queryable, statement: Sql): Promise<Row[]> {
  const result = await db.query({ text: statement.text, values: statement.values as unknown[] });
  return result.rows as Row[];
}

/** How many rows the statement wrote. */
export async function execute(db: Queryable, statement: Sql): Promise<number> {
  const result = await db.query({ text: statement.text, values: statement.values as unknown[] });
  return result.rowCount ?? 0;
}

export class TransactionDeadlineError extends Error {
  override name = 'TransactionDeadlineError';
  constructor(deadlineMs: number) {
    super(`the transaction took longer than ${deadlineMs} ms and was abandoned, uncommitted`);
  }
}

export interface TransactionOptions {
  /** The longest any one statement may run, on the server, this transaction only. */
  statementTimeoutMs?: number;
  /** The longest the whole transaction may take; past it the connection is dropped, uncommitted. */
  deadlineMs?: number;
}

/**
 * Runs `work` in one transaction on one connection; rolls back if it throws. Past `deadlineMs` the
 * connection is closed before COMMIT, so the server rolls the transaction back: a caller that gives
 * up has saved nothing.
 */
export async function transaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  { statementTimeoutMs, deadlineMs }: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Sent together: one round trip.
    await Promise.all([
      client.query('BEGIN'),
      statementTimeoutMs === undefined ? undefined : client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(statementTimeoutMs))}`),
    ]);
    const late = new Promise<never>((_, reject) => {
      if (deadlineMs !== undefined) timer = setTimeout(() => reject(new TransactionDeadlineError(deadlineMs)), deadlineMs);
    });
    const result = await Promise.race([work(client), late]);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    // A live connection rolls back and goes back to the pool; one past its deadline is dropped.
    if (!(error instanceof TransactionDeadlineError)) {
      await client.query('ROLLBACK').then(() => (broken = undefined), () => undefined);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    client.release(broken);
  }
}

/**
 * `statements` as one transaction in one round trip: BEGIN, a statement timeout for this
 * transaction alone, the statements, COMMIT, all sent at once (pg's pipeline mode). A statement that
 * fails, or runs past `timeoutMs` on the server, aborts the transaction and the COMMIT rolls it
 * back, so a caller that answers "unavailable" has saved nothing. Returns each statement's rows.
 */
export async function transactionInOneTrip<Rows extends unknown[][]>(
  pool: Pool,
  timeoutMs: number,
  statements: { [K in keyof Rows]: Sql },
): Promise<Rows> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const sent = [
      client.query('BEGIN'),
      client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`),
      ...statements.map((statement) => client.query({ text: statement.text, values: statement.values as unknown[] })),
    ];
    const commit = client.query('COMMIT');
    const settled = await Promise.allSettled([...sent, commit]);
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      // A statement's own error, or the connection's: a COMMIT that did not answer leaves the
      // connection in doubt, and it is not handed to anyone else.
      if (settled.at(-1)?.status === 'rejected') broken = failed.reason as Error;
      throw failed.reason;
    }
    return settled.slice(2, -1).map((result) => (result as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows) as Rows;
  } finally {
    client.release(broken);
  }
}
