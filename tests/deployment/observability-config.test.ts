// The Prometheus scrape config and alert rules and the Grafana dashboard, checked against the app:
// every metric they name is one the app exports (lib/metrics.ts's registry, or BullMQ's
// exportPrometheusMetrics, called here for its real names), each file has the shape its tool
// needs, and every alert has promtool unit tests. A renamed metric fails here instead of leaving a
// silent alert or an empty panel. Prometheus's own promtool checks the same files in CI
// (npm run check:prometheus); tests/metrics-from-start.test.ts checks that the counters they query
// exist from a process's start.
import { readdirSync, readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { createMetrics } from '@/lib/metrics';
import { queuePrefix } from '@/lib/queues';
import { createWorkerConnection } from '@/lib/valkey';
import { alertRules, dashboard as loadDashboard, family, groupingLabels, metricNames, queriedExpressions } from '@/tests/helpers/promql';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  authorization?: { type?: string; credentials_file?: string };
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; port: number }>;
}
const prometheus = parse(read('infra/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
const datasources = parse(read('infra/grafana/provisioning/datasources/prometheus.yml')) as {
  datasources: Array<{ uid: string; type: string }>;
};
const dashboards = parse(read('infra/grafana/provisioning/dashboards/dashboards.yml')) as {
  providers: Array<{ type: string; options: { path: string } }>;
};
const dashboard = loadDashboard();

const rules = alertRules();
const panels = dashboard.panels ?? [];

let exported: Set<string>;
let appMetrics: string[];
/** The app's metrics with a `job` label of their own (a job name). */
let jobLabelled: Set<string>;

beforeAll(async () => {
  const registry = createMetrics().registry;
  appMetrics = registry.getMetricsAsArray().map((metric) => metric.name);
  jobLabelled = new Set(
    registry
      .getMetricsAsArray()
      .filter((metric) => (metric as unknown as { labelNames: string[] }).labelNames.includes('job'))
      .map((metric) => metric.name),
  );
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
  it('has the alerts the runbook needs, each with for, a severity and a summary', () => {
    const names = rules.map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'DeadLetterQueueGrowing',
        'OldestWaitingJobTooOld',
        'NoWorkersOnQueue',
        'BreakerOpenTooLong',
        'OutboxStalled',
        'ReconcilerRepairs',
        'AdminPasswordGuessing',
      ]),
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

describe('infra/prometheus/tests (promtool test rules)', () => {
  interface RuleTestFile {
    rule_files: string[];
    tests: Array<{ name: string; alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
  }
  const dir = new URL('../../infra/prometheus/tests/', import.meta.url);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .map((name) => ({ name, content: parse(readFileSync(new URL(name, dir), 'utf8')) as RuleTestFile }));
  const expectations = files.flatMap(({ content }) => content.tests.flatMap((test) => test.alert_rule_test ?? []));

  it('test the shipped rules', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const { name, content } of files) expect(content.rule_files, name).toEqual(['../alerts.yml']);
  });

  it('see every alert fire and see it stay quiet', () => {
    for (const rule of rules) {
      const own = expectations.filter((expectation) => expectation.alertname === rule.alert);
      expect(own.some((expectation) => (expectation.exp_alerts ?? []).length > 0), `${rule.alert} fires`).toBe(true);
      expect(own.some((expectation) => (expectation.exp_alerts ?? []).length === 0), `${rule.alert} stays quiet`).toBe(true);
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

describe('the rules and the dashboard together', () => {
  // Prometheus keeps `job` for the scrape job and renames a metric's own `job` label (the job's
  // name) to exported_job, so `by (job)` over such a metric groups by web and workers.
  it('group a metric labelled by job name by exported_job, never by job', () => {
    for (const { source, expr } of queriedExpressions()) {
      const labelled = metricNames(expr).some((name) => jobLabelled.has(family(name, exported)));
      if (labelled) expect(groupingLabels(expr), source).not.toContain('job');
    }
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (metricNames(target.expr ?? '').some((name) => jobLabelled.has(family(name, exported)))) {
          expect(target.legendFormat ?? '', panel.title).not.toContain('{{job}}');
        }
      }
    }
  });
});
