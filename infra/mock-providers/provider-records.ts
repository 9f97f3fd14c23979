// What each provider received, one record per idempotency key: the evidence tests and the demo
// read through /__inspect to tell "sent twice" from "applied twice". Like a real provider with
// idempotency keys, the first accepted request takes effect and later ones replay its response.
// A deletion (erasure-routes.ts) empties every record of its subject and marks it deleted; the
// key and its response stay, as a real provider's idempotency cache would keep them.
import type { ProviderName } from '@/lib/providers';

/** The reply body a provider gave the first time a key was accepted, replayed to repeats. */
export type ProviderResponse = Readonly<Record<string, unknown>>;

export interface AppliedEffect {
  /**
   * What /__inspect shows for the key: the first accepted request's body, or how to read it when
   * reading costs CPU that only someone looking should pay for (a mail, parsed on inspection).
   */
  body: unknown;
  readBody?: () => Promise<unknown>;
  response: ProviderResponse;
  /** Whose data this is (the user id the provider knows): what a deletion request names. */
  subject?: string;
}

export interface Delivery {
  response: ProviderResponse;
  /** True when the key had been accepted before, so nothing was applied this time. */
  replayed: boolean;
}

export interface InspectEntry {
  key: string;
  deliveries: number;
  failures: number;
  firstAt: string;
  lastAt: string;
  body: unknown;
  /** When a deletion emptied the record (its body is then null); null while it holds data. */
  deletedAt: string | null;
}

export interface ProviderRecords {
  /** Counts a request answered with an injected fault; nothing is applied. */
  recordFailure(provider: ProviderName, key: string): void;
  /** Counts an accepted request, calling `apply` only the first time the key is accepted. */
  recordDelivery(provider: ProviderName, key: string, apply: () => AppliedEffect): Delivery;
  /**
   * Counts a deletion request under `key` and empties every record of `subject`, each time it is
   * asked (a delete is idempotent by itself); returns how many records it emptied now.
   */
  recordDeletion(provider: ProviderName, key: string, subject: string): number;
  inspect(provider: ProviderName): Promise<InspectEntry[]>;
  reset(): void;
}

interface ProviderRecord {
  key: string;
  deliveries: number;
  failures: number;
  firstAt: Date;
  lastAt: Date;
  applied: AppliedEffect | undefined;
  deletedAt: Date | undefined;
}

export function createProviderRecords(now: () => Date = () => new Date()): ProviderRecords {
  const byProvider = new Map<ProviderName, Map<string, ProviderRecord>>();

  function touch(provider: ProviderName, key: string): ProviderRecord {
    let records = byProvider.get(provider);
    if (!records) {
      records = new Map();
      byProvider.set(provider, records);
    }
    const at = now();
    const existing = records.get(key);
    if (existing) {
      existing.lastAt = at;
      return existing;
    }
    const record: ProviderRecord = { key, deliveries: 0, failures: 0, firstAt: at, lastAt: at, applied: undefined, deletedAt: undefined };
    records.set(key, record);
    return record;
  }

  return {
    recordFailure(provider, key) {
      touch(provider, key).failures += 1;
    },
    recordDelivery(provider, key, apply) {
      const record = touch(provider, key);
      record.deliveries += 1;
      if (record.applied) return { response: record.applied.response, replayed: true };
      record.applied = apply();
      return { response: record.applied.response, replayed: false };
    },
    recordDeletion(provider, key, subject) {
      const record = touch(provider, key);
      record.deliveries += 1;
      let emptied = 0;
      for (const other of byProvider.get(provider)?.values() ?? []) {
        if (other.applied?.subject !== subject || other.deletedAt) continue;
        other.applied = { body: null, response: other.applied.response, subject };
        other.deletedAt = record.lastAt;
        emptied += 1;
      }
      const before = (record.applied?.body as { removed?: number } | undefined)?.removed ?? 0;
      record.applied = { body: { deleted: subject, removed: before + emptied }, response: { removed: emptied } };
      return emptied;
    },
    inspect(provider) {
      return Promise.all(
        [...(byProvider.get(provider)?.values() ?? [])].map(async (record) => ({
          key: record.key,
          deliveries: record.deliveries,
          failures: record.failures,
          firstAt: record.firstAt.toISOString(),
          lastAt: record.lastAt.toISOString(),
          body: (record.applied?.readBody ? await record.applied.readBody() : record.applied?.body) ?? null,
          deletedAt: record.deletedAt?.toISOString() ?? null,
        })),
      );
    },
    reset() {
      byProvider.clear();
    },
  };
}
