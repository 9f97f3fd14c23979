// The Prometheus scrape config and alert rules and the Grafana dashboard, checked against the app:
// every metric they name is one the app exports (lib/metrics.ts's registry, or BullMQ's
// exportPrometheusMetrics, called here for its real names), and each file has the shape its tool
// needs. A renamed metric fails here instead of leaving a silent alert or an empty panel.
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { createMetrics } from '@/lib/metrics';
import { queuePrefix } from '@/lib/queues';
import { createWorkerConnection } from '@/lib/valkey';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface AlertRule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  authorization?: { type?: string; credentials_file?: string };
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; port: number }>;
}
interface Panel {
  title?: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; refId?: string }>;
}

const alerts = parse(read('infra/prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
const prometheus = parse(read('infra/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
const datasources = parse(read('infra/grafana/provisioning/datasources/prometheus.yml')) as {
  datasources: Array<{ uid: string; type: string }>;
};
const dashboards = parse(read('infra/grafana/provisioning/dashboards/dashboards.yml')) as {
  providers: Array<{ type: string; options: { path: string } }>;
};
const dashboard = JSON.parse(read('infra/grafana/dashboards/signup.json')) as { uid?: string; title?: string; panels?: Panel[] };

const rules = alerts.groups.flatMap((group) => group.rules);
const panels = dashboard.panels ?? [];

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names a PromQL expression selects: identifiers that are not functions, labels or keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/[a-zA-Z_][\w:]*(?![\w:])(?!\s*\()/g)].map(([name]) => name);
  return [...new Set(names.filter((name) => !PROMQL_KEYWORDS.has(name.toLowerCase())))];
}

/** Histograms are selected through their series: name_bucket, name_sum, name_count. */
function family(name: string, exported: Set<string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && exported.has(base) ? base : name;
}

let exported: Set<string>;
let appMetrics: string[];

beforeAll(async () => {
  const registry = createMetrics().registry;
  appMetrics = registry.getMetricsAsArray().map((metric) => metric.name);
  // BullMQ's names, from BullMQ itself: an empty queue on a throwaway prefix exports them all.
  const connection = createWorkerConnection(loadConfig().valkey);
  const queue = new Queue('email', { connection, prefix: queuePrefix(`test-observability-${process.pid}`, 'email') });
  try {
    const text = await queue.exportPrometheusMetrics();
    const bullmq = [...text.matchAll(/^# TYPE (\S+)/gm)].map(([, name]) => name ?? '');
    expect(bullmq).toContain('bullmq_job_count');
    exported = new Set([...appMetrics, ...bullmq]);
  } finally {
    await queue.close();
    connection.disconnect();
  }
});

describe('infra/prometheus/alerts.yml', () => {
  it('has the four alerts the runbook needs, each with for, a severity and a summary', () => {
    const names = rules.map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining(['DeadLetterQueueGrowing', 'OldestWaitingJobTooOld', 'NoWorkersOnQueue', 'BreakerOpenTooLong']),
    );
    for (const rule of rules) {
      expect(rule.expr, rule.alert).toBeTruthy();
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(rule.labels?.severity, rule.alert).toMatch(/^(page|ticket)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it('names only metrics the app exports', () => {
    for (const rule of rules) {
      const names = metricNames(rule.expr ?? '');
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(family(name, exported)), `${rule.alert}: ${name}`).toBe(true);
    }
  });
});

describe('infra/prometheus/prometheus.yml', () => {
  const job = (name: string) => prometheus.scrape_configs.find((config) => config.job_name === name);
  const defaults = loadConfig({});

  it('loads the alert rules', () => {
    expect(prometheus.rule_files.some((file) => file.endsWith('/alerts.yml'))).toBe(true);
  });

  it('scrapes the web app and every worker container where they serve their metrics, with the bearer token', () => {
    expect(job('web')?.metrics_path).toBe('/api/metrics');
    expect(job('web')?.static_configs?.[0]?.targets).toEqual([`web:${defaults.port}`]);
    expect(job('workers')?.metrics_path).toBe('/metrics');
    expect(job('workers')?.dns_sd_configs?.[0]).toMatchObject({ names: ['workers'], port: defaults.metrics.workerPort });
    for (const name of ['web', 'workers']) {
      expect(job(name)?.authorization, name).toMatchObject({ type: 'Bearer', credentials_file: expect.any(String) });
    }
  });
});

describe('infra/grafana', () => {
  it('provisions the Prometheus data source the dashboard uses, and loads the dashboards from files', () => {
    const uid = datasources.datasources.find((source) => source.type === 'prometheus')?.uid;
    expect(uid).toBeTruthy();
    for (const panel of panels) expect(panel.datasource?.uid, panel.title).toBe(uid);
    expect(dashboards.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
  });

  it('has a uid, a title, and panels that each query something', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) {
      expect(panel.title).toBeTruthy();
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr, panel.title).toBeTruthy();
    }
  });

  it('names only metrics the app exports, and shows every signup_ metric', () => {
    const named = new Set<string>();
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        for (const name of metricNames(target.expr ?? '')) {
          expect(exported.has(family(name, exported)), `${panel.title}: ${name}`).toBe(true);
          named.add(family(name, exported));
        }
      }
    }
    expect(appMetrics.filter((name) => name.startsWith('signup_') && !named.has(name))).toEqual([]);
    expect(named.has('bullmq_job_count')).toBe(true);
  });
});
