// The third parties the workers call, by the names CONTRACT.md fixes. One list, so the fault
// table, the records and the control routes can never disagree about which providers exist.
export const PROVIDER_NAMES = ['smtp', 'crm', 'storage', 'analytics', 'alerts'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}
