import { describe, expect, it } from 'vitest';
import type { FaultRecord } from './fault-injector';
import { classifyServerErrors } from './invariants';
import type { RequestRecord } from './load-driver';

const refusal: FaultRecord = { window: { id: 1, kind: 'postgres-refuse', target: 'postgres', startMs: 10_000, endMs: 15_000 }, appliedAt: 10_050, healedAt: 15_020 };
const request = (sentAt: number, status: RequestRecord['status']): RequestRecord => ({ kind: 'signup', sentAt, answeredAt: sentAt + 200, status });

describe('classifyServerErrors', () => {
  it('counts a 503 during PostgreSQL\'s refusal, or the second after it, as right', () => {
    const { during, outside } = classifyServerErrors([request(12_000, 503), request(15_800, 503)], [refusal]);
    expect(during).toHaveLength(2);
    expect(outside).toEqual([]);
  });

  it('counts a 503 outside any refusal, and any other 5xx, as wrong', () => {
    const { during, outside } = classifyServerErrors([request(30_000, 503), request(12_000, 500), request(12_000, 201), request(12_000, 'no-answer')], [refusal]);
    expect(during).toEqual([]);
    expect(outside.map((answer) => answer.status)).toEqual([503, 500]);
  });

  it('counts every 503 as wrong when PostgreSQL was never refused', () => {
    expect(classifyServerErrors([request(12_000, 503)], []).outside).toHaveLength(1);
  });
});
