// infra/k8s's scaling, kept honest without a cluster: each worker Deployment has one KEDA
// ScaledObject, whose query names the metric and labels the web really exports (BullMQ's own
// exposition, rendered here with no Valkey) and counts only that queue's ready jobs; every
// Deployment's disruption budget lets a node drain; and at every Deployment's largest scale the
// database connections stay within PostgreSQL's default max_connections.
import { EventEmitter } from 'node:events';
import { Queue, type IQueueBackend } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@/lib/config';
import { createMetrics } from '@/lib/metrics';
import type { MetricsServer } from '@/workers/runtime/metrics-server';
import { QUEUE_RUNTIME } from '@/workers/runtime/start-workers';
import { readRepoFile } from './support/container-files';
import {
  budgets,
  componentOf,
  deployments,
  environmentOf,
  isDemo,
  mainContainer,
  METRICS_TOKEN,
  nameOf,
  ofKind,
  podsSelectedBy,
  scaledObjectOf,
  scaledObjects,
  scriptOf,
  settingsOf,
  startWorkerMetricsServer,
  workers,
  type ScaledObject,
  type Workload,
} from './support/k8s-manifests';

/** PostgreSQL's defaults: max_connections 100, of which superuser_reserved_connections 3. */
const POSTGRES_CONNECTIONS = 100 - 3;
/** prisma/migrate.ts holds one pg.Client at a time. */
const MIGRATE_CONNECTIONS = 1;
/** Labels Prometheus's Kubernetes discovery adds to a pod's series (the usual relabelling). */
const TARGET_LABELS = new Set(['namespace', 'pod', 'job', 'instance']);

/**
 * BullMQ's own exposition of one queue, as the web's collectQueueState asks for it, rendered over a
 * backend that counts zero of everything: BullMQ's real metric names, labels and states, with no
 * Valkey. Only the calls exportPrometheusMetrics and the Queue constructor make are answered.
 */
async function bullmqExposition(name: string): Promise<string> {
  const backend = Object.assign(new EventEmitter(), {
    qualifiedName: `k8s-scaling-test:${name}`,
    keys: {},
    toKey: (type: string) => `k8s-scaling-test:${name}:${type}`,
    waitUntilReady: async () => undefined,
    close: async () => undefined,
    getCounts: async (types: string[]) => types.map(() => 0),
    getMetrics: async (): Promise<[string[], string[], number]> => [[], [], 0],
  });
  const queue = new Queue(name, { connection: {}, skipMetasUpdate: true }, () => backend as unknown as IQueueBackend);
  return queue.exportPrometheusMetrics();
}

interface ExportedMetric {
  labels: Set<string>;
  /** Every value each label took, where known (BullMQ's states). */
  values: Map<string, Set<string>>;
}
let exported: Map<string, ExportedMetric>;
let metricsServer: MetricsServer;

beforeAll(async () => {
  exported = new Map();
  for (const metric of createMetrics().registry.getMetricsAsArray()) {
    const labels = 'labelNames' in metric && Array.isArray(metric.labelNames) ? metric.labelNames.map(String) : [];
    exported.set(metric.name, { labels: new Set(labels), values: new Map() });
  }
  for (const queue of QUEUE_NAMES) {
    for (const [, name = '', body = ''] of (await bullmqExposition(queue)).matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\}/gm)) {
      const metric = exported.get(name) ?? { labels: new Set<string>(), values: new Map<string, Set<string>>() };
      for (const [, label = '', value = ''] of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        metric.labels.add(label);
        metric.values.set(label, (metric.values.get(label) ?? new Set()).add(value));
      }
      exported.set(name, metric);
    }
  }
  metricsServer = await startWorkerMetricsServer();
});
afterAll(async () => {
  await metricsServer?.close();
});

describe('infra/k8s', () => {
  describe('KEDA', () => {
    const target = (scaled: ScaledObject) => workers.find((worker) => nameOf(worker) === scaled.spec?.scaleTargetRef?.name);
    const queueOf = (scaled: ScaledObject) => {
      const worker = target(scaled);
      return worker ? settingsOf(worker).workerQueues[0] : undefined;
    };

    it('scales every worker Deployment with exactly one ScaledObject, and leaves its replicas to it', () => {
      expect(scaledObjects.map(queueOf).sort()).toEqual([...QUEUE_NAMES].sort());
      for (const scaled of scaledObjects) {
        const { kind = 'Deployment', apiVersion = 'apps/v1' } = scaled.spec?.scaleTargetRef ?? {};
        expect([kind, apiVersion], nameOf(scaled)).toEqual(['Deployment', 'apps/v1']);
        const min = scaled.spec?.minReplicaCount ?? 0;
        const max = scaled.spec?.maxReplicaCount ?? 100;
        // Delayed jobs move to waiting only while a worker of their queue runs, and the query sees only ready ones.
        expect(min, `${nameOf(scaled)} minReplicaCount`).toBeGreaterThanOrEqual(1);
        expect(max, nameOf(scaled)).toBeGreaterThanOrEqual(min);
        const fallback = scaled.spec?.fallback?.replicas ?? -1;
        expect(fallback, `${nameOf(scaled)} fallback`).toBeGreaterThanOrEqual(min);
        expect(fallback, `${nameOf(scaled)} fallback`).toBeLessThanOrEqual(max);
      }
      // A count in the Deployment would reset KEDA's at every apply.
      for (const worker of workers) expect(worker.spec?.replicas, nameOf(worker)).toBeUndefined();
    });

    it("queries that queue's ready jobs by the metric and labels the web really exports, once per state", async () => {
      expect(exported.get('bullmq_job_count')?.labels).toEqual(new Set(['queue', 'state']));
      // The worker's /metrics does not carry it: only the web's scrape feeds these queries.
      const workerText = await (
        await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      ).text();
      expect(workerText).not.toMatch(/^bullmq_job_count/m);
      expect(readRepoFile('app/api/metrics/route.ts')).toMatch(/queueState:/);
      const namespace = ofKind('Namespace').map(nameOf)[0];

      for (const scaled of scaledObjects) {
        const triggers = scaled.spec?.triggers ?? [];
        expect(triggers.map((trigger) => trigger.type), nameOf(scaled)).toEqual(['prometheus']);
        const { query = '', serverAddress = '', threshold = '', ignoreNullValues } = triggers[0]?.metadata ?? {};
        expect(() => new URL(serverAddress), nameOf(scaled)).not.toThrow();
        expect(Number(threshold), nameOf(scaled)).toBeGreaterThan(0);
        // An empty answer (web unscraped, metric renamed) is an error that triggers the fallback, not a zero.
        expect(ignoreNullValues, nameOf(scaled)).toBe('false');

        const selectors = [...query.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)];
        expect(selectors.length, `${nameOf(scaled)}: ${query}`).toBeGreaterThan(0);
        // No metric named outside a selector: what is left are aggregations.
        const rest = query.replace(/([a-zA-Z_:][\w:]*)\s*\{[^}]*\}/g, ' ').replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ');
        const words = rest.match(/[a-zA-Z_:][\w:]*/g) ?? [];
        expect(words.filter((word) => !['sum', 'max'].includes(word)), query).toEqual([]);
        for (const [, name = '', body = ''] of selectors) {
          const metric = exported.get(name);
          expect(metric, `${nameOf(scaled)}: ${name} is exported`).toBeDefined();
          const matchers = [...body.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
            ([, label = '', op = '', value = '']) => ({ label, op, value }),
          );
          for (const { label } of matchers) {
            const known = metric?.labels.has(label) || TARGET_LABELS.has(label);
            expect(known, `${nameOf(scaled)}: ${name} has label ${label}`).toBe(true);
          }
          const value = (label: string) => matchers.find((matcher) => matcher.label === label && matcher.op === '=')?.value;
          expect(value('queue'), nameOf(scaled)).toBe(queueOf(scaled));
          expect(value('namespace'), nameOf(scaled)).toBe(namespace);
          const states = matchers.find((matcher) => matcher.label === 'state' && matcher.op === '=~')?.value.split('|') ?? [];
          expect(states.sort(), nameOf(scaled)).toEqual(['prioritized', 'waiting']);
          for (const state of states) expect(metric?.values.get('state'), `${nameOf(scaled)}: state ${state}`).toContain(state);
          // Every web pod exports the same counts: summing across pods would multiply the backlog.
          expect(query, nameOf(scaled)).toContain(`max by (state) (${name}{`);
        }
      }
    });
  });

  describe('disruption budgets and capacity', () => {
    it('cover every Deployment but the demo mocks with one budget that selects its pods and lets a node drain', () => {
      const covered = deployments.filter((entry) => !isDemo(entry));
      expect(covered.length).toBe(QUEUE_NAMES.length + 1);
      for (const budget of budgets) {
        expect(podsSelectedBy(budget.spec?.selector).length, `PDB ${nameOf(budget)} selects one Deployment`).toBe(1);
      }
      for (const entry of covered) {
        const matching = budgets.filter((budget) => podsSelectedBy(budget.spec?.selector).includes(entry));
        expect(matching.map(nameOf), nameOf(entry)).toHaveLength(1);
        const { minAvailable, maxUnavailable } = matching[0]?.spec ?? {};
        expect([minAvailable, maxUnavailable].filter((value) => value !== undefined), nameOf(entry)).toHaveLength(1);
        const fewest = entry.spec?.replicas ?? scaledObjectOf(entry)?.spec?.minReplicaCount ?? 1;
        // minAvailable equal to the pods there are would forbid every eviction.
        if (typeof minAvailable === 'number') expect(minAvailable, nameOf(entry)).toBeLessThan(fewest);
        if (typeof maxUnavailable === 'number') expect(maxUnavailable, nameOf(entry)).toBeGreaterThan(0);
      }
    });

    it("keep PostgreSQL's connections within its default max_connections at every Deployment's largest scale", () => {
      // Each avatar render runs in a sandboxed child with a pool of its own.
      const sandboxSource = readRepoFile('workers/jobs/avatar/generate-avatar.sandbox.ts');
      const sandboxPool = Number(/maxConnections: (\d+)/.exec(sandboxSource)?.[1]);
      expect(sandboxPool).toBeGreaterThan(0);
      // The web's pool is lib/db.ts's pool(), which Prisma shares: it must be sized by the
      // DATABASE_POOL_SIZE counted below.
      const webClient = /export function pool\(\)[^]*?\n\}/.exec(readRepoFile('lib/db.ts'))?.[0] ?? '';
      expect(webClient, "lib/db.ts's pool()").toMatch(/maxConnections: [\w.]*\bdatabasePoolSize\b/);
      const surge = (entry: Workload, pods: number) => {
        const value = entry.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%';
        return typeof value === 'number' ? value : Math.ceil((pods * Number.parseInt(value, 10)) / 100);
      };
      const connecting = deployments.filter((entry) => environmentOf(mainContainer(entry)).DATABASE_URL !== undefined);
      // Set beside the replicas that multiply it, so the sum does not hang on lib/config.ts's default.
      for (const entry of connecting) {
        const explicit = mainContainer(entry).env?.find((variable) => variable.name === 'DATABASE_POOL_SIZE');
        expect(explicit?.value, `${nameOf(entry)} DATABASE_POOL_SIZE`).toBeDefined();
      }
      const connections = connecting.map((entry) => {
        const pods = entry.spec?.replicas ?? scaledObjectOf(entry)?.spec?.maxReplicaCount ?? Number.NaN;
        const settings = settingsOf(entry);
        const isAvatarWorker = scriptOf(componentOf(entry)) === 'workers' && settings.workerQueues.includes('avatar');
        const sandboxes = isAvatarWorker ? QUEUE_RUNTIME.avatar.concurrency * sandboxPool : 0;
        return (pods + surge(entry, pods)) * (settings.databasePoolSize + sandboxes);
      });
      expect(connections.length).toBe(QUEUE_NAMES.length + 1);
      const total = connections.reduce((sum, count) => sum + count, MIGRATE_CONNECTIONS);
      expect(total).toBeLessThanOrEqual(POSTGRES_CONNECTIONS);
    });
  });
});
