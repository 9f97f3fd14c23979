// A dead letter's failure fingerprint: queue + error class + the error message with everything that
// differs between two jobs failing for the same reason taken out (ids, uuids, numbers, durations,
// hex, quoted values, addresses). One outage gives one fingerprint, so the alert loop sends one alert
// for it and the admin can act on all of it at once (docs/failure-model.md#alerts).
import { createHash } from 'node:crypto';
import { cancelledMessage, isCancelledFailure } from '@/lib/cancel-requests';

/** How much of a message is read: enough to tell failures apart, a bounded regex pass. */
export const FINGERPRINT_INPUT_CHARS = 500;
const NORMALISED_CHARS = 200;

export interface FailureFingerprint {
  /** 16 hex characters: what is stored in dead_letters.fingerprint and filtered on. */
  fingerprint: string;
  queue: string;
  errorClass: string;
  /** The message as normalised: what a person reads next to the fingerprint. */
  message: string;
}

// Order matters: the wider shapes go first, so a uuid is not eaten as hex and numbers.
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/[^\s@"'<>]+@[^\s@"'<>]+\.[a-z]{2,}/gi, '<email>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '<q>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  // Long runs of hex with at least one digit: hashes, trace ids, Mongo-style ids.
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\b\d+(?:\.\d+)?\s?(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b/gi, '<duration>'],
  // An HTTP status after "answered"/"status"/"HTTP" is the kind of failure, not an id: kept.
  [/(?<!\d)(?<!\b(?:answered|status|HTTP)\s?)\d+(?:\.\d+)?/gi, '<n>'],
];

/** The message with its per-job details replaced by placeholders, whitespace collapsed. */
export function normaliseErrorMessage(message: string): string {
  let text = message.slice(0, FINGERPRINT_INPUT_CHARS);
  for (const [pattern, placeholder] of RULES) text = text.replace(pattern, placeholder);
  return text.replace(/\s+/g, ' ').trim().slice(0, NORMALISED_CHARS);
}

/**
 * The error's class from a stack trace's first line (`PermanentProviderError: crm: …`); `Error`
 * when there is no trace or its first line names none.
 */
export function errorClassOf(stackTrace: string | null | undefined): string {
  const name = /^([A-Za-z_$][\w$]*)(?::|$)/.exec(stackTrace?.split('\n', 1)[0]?.trim() ?? '')?.[1];
  return name ?? 'Error';
}

export function failureFingerprint(queue: string, errorClass: string, message: string): FailureFingerprint {
  const normalised = normaliseErrorMessage(message);
  const fingerprint = createHash('sha256').update(`${queue}\n${errorClass}\n${normalised}`).digest('hex').slice(0, 16);
  return { fingerprint, queue, errorClass, message: normalised };
}

/**
 * As stored: the dead letter's queue, its last error and its last stack trace. Jobs cancelled by an
 * operator are one kind of failure per queue, whatever reason each was given.
 */
export function fingerprintOfDeadLetter(row: { queue: string; lastError: string; stackTrace: string | null }): FailureFingerprint {
  if (isCancelledFailure(row.lastError)) return failureFingerprint(row.queue, 'JobCancelled', cancelledMessage('…'));
  return failureFingerprint(row.queue, errorClassOf(row.stackTrace), row.lastError);
}

export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;
