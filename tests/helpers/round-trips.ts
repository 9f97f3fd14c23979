// Counts what a piece of work sends over the wire: SQL statements to PostgreSQL (every query a pg
// client sends, Prisma's included, BEGIN and COMMIT included) and commands to Valkey (every command
// an ioredis connection sends, each command of a pipeline or MULTI included), and the round trips
// they take: a statement or command sent while its connection has none in flight starts one, and
// those sent behind it before the answers come back ride along (pg's pipeline mode, ioredis's
// writes). Counted in this process only, around `work`, so nothing running elsewhere adds to it:
// the count is the same on every run. For the round-trip budget (tests/round-trips.test.ts).
import { Redis } from 'ioredis';
import pg from 'pg';

export interface RoundTrips {
  sql: { statements: number; roundTrips: number };
  valkey: { commands: number; roundTrips: number };
  /** The statements and commands, in order, for a failing test's message. */
  log: string[];
}

type Method = (...args: unknown[]) => unknown;

/** Runs `work` with pg's and ioredis's senders counted; one count at a time per process. */
export async function countRoundTrips<T>(work: () => Promise<T>): Promise<{ result: T; trips: RoundTrips }> {
  const trips: RoundTrips = { sql: { statements: 0, roundTrips: 0 }, valkey: { commands: 0, roundTrips: 0 }, log: [] };
  const inFlight = new WeakMap<object, number>();
  /** Counts one send on `connection`; returns what to call when its answer is in. */
  const sent = (connection: object, kind: { roundTrips: number }) => {
    const pending = inFlight.get(connection) ?? 0;
    if (pending === 0) kind.roundTrips += 1;
    inFlight.set(connection, pending + 1);
    return () => inFlight.set(connection, (inFlight.get(connection) ?? 1) - 1);
  };

  const clientProto = pg.Client.prototype as unknown as { query: Method };
  const redisProto = Redis.prototype as unknown as { sendCommand: Method };
  const query = clientProto.query;
  const sendCommand = redisProto.sendCommand;
  clientProto.query = function countedQuery(this: object, ...args: unknown[]) {
    trips.sql.statements += 1;
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    trips.log.push(`sql: ${text.replace(/\s+/g, ' ').trim().slice(0, 80)}`);
    const done = sent(this, trips.sql);
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        done();
        return (callback as Method)(...results);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args);
    if (result instanceof Promise) result.then(done, done);
    else done();
    return result;
  };
  redisProto.sendCommand = function countedCommand(this: object, ...args: unknown[]) {
    trips.valkey.commands += 1;
    const command = args[0] as { name?: string } | undefined;
    trips.log.push(`valkey: ${command?.name ?? '?'}`);
    const done = sent(this, trips.valkey);
    const result = sendCommand.apply(this, args);
    if (result instanceof Promise) result.then(done, done);
    else done();
    return result;
  };
  try {
    const result = await work();
    return { result, trips };
  } finally {
    clientProto.query = query;
    redisProto.sendCommand = sendCommand;
  }
}
