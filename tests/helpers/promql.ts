// What the alert rules and the Grafana dashboard ask Prometheus, for the tests that hold them to the
// app's metrics: every expression with where it comes from, the metric names each selects, the
// labels it groups by, and the label values its selectors require.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

export interface AlertRule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface Panel {
  title?: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; refId?: string; legendFormat?: string }>;
}

export const alertRules = (): AlertRule[] =>
  (parse(read('infra/prometheus/alerts.yml')) as { groups: Array<{ rules: AlertRule[] }> }).groups.flatMap((group) => group.rules);

export const dashboard = (): { uid?: string; title?: string; panels?: Panel[] } => JSON.parse(read('infra/grafana/dashboards/signup.json'));

/** Every PromQL expression of the rules and the dashboard, with the rule or panel it belongs to. */
export function queriedExpressions(): Array<{ source: string; expr: string }> {
  return [
    ...alertRules().map((rule) => ({ source: `alert ${rule.alert}`, expr: rule.expr ?? '' })),
    ...(dashboard().panels ?? []).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ source: `panel "${panel.title}"`, expr: target.expr ?? '' })),
    ),
  ];
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names a PromQL expression selects: identifiers that are not functions, labels or keywords. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/[a-zA-Z_][\w:]*(?![\w:])(?!\s*\()/g)].map(([name]) => name);
  return [...new Set(names.filter((name) => !PROMQL_KEYWORDS.has(name.toLowerCase())))];
}

/** The labels an expression aggregates by: every `by (…)` in it. */
export function groupingLabels(expr: string): string[] {
  const lists = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].map(([, list]) => list ?? '');
  return [...new Set(lists.flatMap((list) => list.split(',').map((label) => label.trim()).filter(Boolean)))];
}

/** The `label="value"` matchers in an expression's selectors, by metric name. */
export function equalityMatchers(expr: string): Array<{ metric: string; label: string; value: string }> {
  return [...expr.matchAll(/([a-zA-Z_][\w:]*)\{([^}]*)\}/g)].flatMap(([, metric, body]) =>
    [...(body ?? '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map(([, label, value]) => ({
      metric: metric ?? '',
      label: label ?? '',
      value: value ?? '',
    })),
  );
}

/** Histograms are selected through their series: name_bucket, name_sum, name_count. */
export function family(name: string, exported: Set<string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && exported.has(base) ? base : name;
}
