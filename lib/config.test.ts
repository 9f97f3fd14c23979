import { describe, expect, it } from 'vitest';
import { adminPasswordProblem, MIN_ADMIN_PASSWORD_LENGTH } from '@/lib/config';

describe('adminPasswordProblem', () => {
  it('refuses a missing or short admin password, saying what to do', () => {
    expect(adminPasswordProblem(undefined)).toMatch(/ADMIN_PASSWORD is not set/);
    expect(adminPasswordProblem('x')).toMatch(/1 characters long; it must be at least 16/);
    expect(adminPasswordProblem('a'.repeat(MIN_ADMIN_PASSWORD_LENGTH - 1))).toMatch(/at least 16/);
  });

  it('accepts 16 characters or more, counted as characters, not bytes', () => {
    expect(MIN_ADMIN_PASSWORD_LENGTH).toBe(16);
    expect(adminPasswordProblem('a'.repeat(16))).toBeUndefined();
    expect(adminPasswordProblem('ü'.repeat(15))).toMatch(/15 characters long/);
  });
});
