// Counts what a piece of work sends over the wire: SQL statements to PostgreSQL (every query a pg
// client sends, Prisma's included, BEGIN and COMMIT included) and commands to Valkey (every command
// an ioredis connection sends, each command of a pipeline or MULTI included). Counted in this
// process only, around `work`, so nothing running elsewhere adds to it: the count is the same on
// every run. For the round-trip budget (tests/round-trips.test.ts) and the benchmark report.
import { Redis } from 'ioredis';
import pg from 'pg';

export interface RoundTrips {
  sql: number;
  valkey: number;
  /** The statements and commands, in order, for a failing test's message. */
  log: string[];
}

/** Runs `work` with pg's and ioredis's senders counted; one count at a time per process. */
export async function countRoundTrips<T>(work: () => Promise<T>): Promise<{ result: T; trips: RoundTrips }> {
  const trips: RoundTrips = { sql: 0, valkey: 0, log: [] };
  const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const redisProto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const query = clientProto.query;
  const sendCommand = redisProto.sendCommand;
  clientProto.query = function countedQuery(this: unknown, ...args: unknown[]) {
    trips.sql += 1;
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    trips.log.push(`sql: ${text.replace(/\s+/g, ' ').trim().slice(0, 80)}`);
    return query.apply(this, args);
  };
  redisProto.sendCommand = function countedCommand(this: unknown, ...args: unknown[]) {
    trips.valkey += 1;
    const command = args[0] as { name?: string } | undefined;
    trips.log.push(`valkey: ${command?.name ?? '?'}`);
    return sendCommand.apply(this, args);
  };
  try {
    const result = await work();
    return { result, trips };
  } finally {
    clientProto.query = query;
    redisProto.sendCommand = sendCommand;
  }
}
