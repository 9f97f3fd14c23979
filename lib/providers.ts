// The third parties this app calls, by the names the operations guide fixes (docs/operations.md).
// One list, so the workers' provider errors, the mock providers' fault table and records, and the
// admin's fault panel can never disagree about which providers exist.
export const PROVIDER_NAMES = ['smtp', 'crm', 'storage', 'analytics', 'alerts'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}
