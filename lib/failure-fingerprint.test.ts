import { describe, expect, it } from 'vitest';
import { cancelledMessage } from '@/lib/cancel-requests';
import { errorClassOf, failureFingerprint, fingerprintOfDeadLetter, normaliseErrorMessage } from '@/lib/failure-fingerprint';

describe('normaliseErrorMessage', () => {
  it.each([
    ['uuids', 'no user 3f2b8c1e-9a4d-4e1f-8b7c-1d2e3f4a5b6c in sync-crm-contact-3f2b8c1e-9a4d-4e1f-8b7c-1d2e3f4a5b6c', 'no user <uuid> in sync-crm-contact-<uuid>'],
    ['numbers and ids', 'job 4182 failed after 3 attempts (row #991)', 'job <n> failed after <n> attempts (row #<n>)'],
    ['durations', 'send-welcome-email ran past its 30000 ms limit; waited 1.5s', 'send-welcome-email ran past its <duration> limit; waited <duration>'],
    ['hex', 'trace 0xdeadbeef, sha 9f86d081884c7d65 mismatch', 'trace <hex>, sha <hex> mismatch'],
    ['quoted values', `crm: POST /contacts answered 422 {"error":"invalid","field":'email'}`, 'crm: POST /contacts answered 422 {<q>:<q>,<q>:<q>}'],
    ['addresses', 'smtp: rejected: 550 5.1.1 <user-1@example.test> unknown', 'smtp: rejected: <n> <n>.<n> <<email>> unknown'],
    ['whitespace', '  two\n\tlines  ', 'two lines'],
  ])('strips %s', (_what, message, expected) => {
    expect(normaliseErrorMessage(message)).toBe(expected);
  });

  it('keeps an HTTP status, which is the kind of failure rather than an id', () => {
    expect(normaliseErrorMessage('crm: POST /crm/contacts answered 503 Service Unavailable')).toBe(
      'crm: POST /crm/contacts answered 503 Service Unavailable',
    );
    expect(normaliseErrorMessage('upstream status 429')).toBe('upstream status 429');
  });

  it('gives two jobs failing for the same reason the same text', () => {
    const a = normaliseErrorMessage('storage: PUT /avatars/7c1e0a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d.png answered 500 took 812ms');
    const b = normaliseErrorMessage('storage: PUT /avatars/0a9b8c7d-6e5f-4a3b-8c1d-0e9f8a7b6c5d.png answered 500 took 95ms');
    expect(a).toBe(b);
  });

  it('reads at most 500 characters and keeps at most 200', () => {
    expect(normaliseErrorMessage('x'.repeat(10_000))).toHaveLength(200);
  });
});

describe('errorClassOf', () => {
  it('reads the class from the first line of a stack trace', () => {
    expect(errorClassOf('UnrecoverableError: crm: POST /contacts answered 422\n    at permanent (process-job.ts:103)')).toBe(
      'UnrecoverableError',
    );
    expect(errorClassOf('JobTimeoutError')).toBe('JobTimeoutError');
  });

  it('falls back to Error without a trace, or with one that names no class', () => {
    expect(errorClassOf(null)).toBe('Error');
    expect(errorClassOf('    at somewhere (file.ts:1)')).toBe('Error');
  });
});

describe('failureFingerprint', () => {
  const outage = (userId: string) => ({
    queue: 'crm',
    lastError: `crm: POST /crm/contacts answered 503 for ${userId} after 2000 ms`,
    stackTrace: 'TransientProviderError: crm: …',
  });

  it('is the same for the letters of one outage', () => {
    const a = fingerprintOfDeadLetter(outage('5b1c0d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e'));
    const b = fingerprintOfDeadLetter(outage('9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ queue: 'crm', errorClass: 'TransientProviderError', message: 'crm: POST /crm/contacts answered 503 for <uuid> after <duration>' });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('differs by queue, by error class and by message', () => {
    const base = failureFingerprint('crm', 'TransientProviderError', 'answered 503').fingerprint;
    expect(failureFingerprint('email', 'TransientProviderError', 'answered 503').fingerprint).not.toBe(base);
    expect(failureFingerprint('crm', 'UnrecoverableError', 'answered 503').fingerprint).not.toBe(base);
    expect(failureFingerprint('crm', 'TransientProviderError', 'answered 502').fingerprint).not.toBe(base);
  });

  it('makes the jobs an operator cancelled one failure per queue, whatever reason each was given', () => {
    const letter = (queue: string, reason: string) => ({ queue, lastError: cancelledMessage(reason), stackTrace: null });
    const one = fingerprintOfDeadLetter(letter('crm', 'stuck behind a hung provider')).fingerprint;
    expect(fingerprintOfDeadLetter(letter('crm', 'sent by mistake')).fingerprint).toBe(one);
    expect(fingerprintOfDeadLetter(letter('email', 'sent by mistake')).fingerprint).not.toBe(one);
  });
});
