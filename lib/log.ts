// Structured JSON logs through pino, one object per line:
//   {"level":"warn","time":"…","component":"worker","msg":"job failed; will retry","queue":"crm",…}
// Callers pass ids (job id, user id, queue), never emails or names. When a trace is active the line
// carries its trace_id and span_id, so a log line leads to its trace and back.
//
// What happens once per signup or per job is logged at debug, which LOG_LEVEL leaves off by default:
// each line is a write to stdout, a system call that cost as much as a database round trip in the
// efficiency profiles, and the metrics count those events already. Warnings and errors are always
// written.
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { config } from '@/lib/config';

type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  /** Once per signup or per job: off unless LOG_LEVEL=debug. */
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

const root = pino({
  level: config().logLevel,
  // Level names instead of numbers: read by people as often as by machines.
  formatters: { level: (label) => ({ level: label }) },
  timestamp: pino.stdTimeFunctions.isoTime,
  base: undefined,
  mixin() {
    const context = trace.getActiveSpan()?.spanContext();
    return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
  },
});

/** An error for a log line: its first line only (Prisma's messages run to dozens of lines). */
export function errorSummary(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

export function createLogger(component: string): Logger {
  const log = root.child({ component });
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}
