// The charts read at a glance: read back from the SVG they write, no text covers other text, every
// value axis marks at least three values (decades on a log scale), targets are drawn with their
// label, and line charts keep their legend off the plot and their overlapping series apart. Text
// boxes are estimated as the renderer's reader would: 7 px per character at 12 px.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { barChart, lineChart } from '@/bench/harness/svg-chart';
import { backendsCharts, type BackendsChartData } from '@/bench/scenarios/backends-charts';
import { capacityCharts } from '@/bench/scenarios/capacity-charts';
import type { CapacityData } from '@/bench/scenarios/capacity-data';
import { efficiencyCharts, type EfficiencyChartData } from '@/bench/scenarios/efficiency-charts';
import { fairnessCharts, type FairnessChartData } from '@/bench/scenarios/fairness-charts';
import { memoryCharts, type MemoryChartData } from '@/bench/scenarios/memory-charts';
import { outageCharts, type OutageChartData } from '@/bench/scenarios/outage-recovery-charts';
import { pipelineCharts, type PipelineChartData } from '@/bench/scenarios/pipeline-throughput-charts';
import { signupLatencyCharts, type SignupLatencyChartData } from '@/bench/scenarios/signup-latency-charts';

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

interface Text {
  text: string;
  box: Box;
  /** The anchor's x and the baseline's y, unrotated; for upright text, where it starts. */
  x: number;
  y: number;
  upright: boolean;
}

const CHAR_WIDTH = 7;

function texts(svg: string): Text[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, attributes = '', raw = '']) => {
    const attribute = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(attributes)?.[1];
    const text = raw.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
    const size = Number(attribute('font-size') ?? 12);
    const width = ([...text].length * CHAR_WIDTH * size) / 12;
    const anchor = attribute('text-anchor') ?? 'start';
    const turned = /translate\(([-\d.]+) ([-\d.]+)\) rotate\(-90\)/.exec(attribute('transform') ?? '');
    if (turned) {
      const [x, y] = [Number(turned[1]), Number(turned[2])];
      const from = anchor === 'start' ? y : anchor === 'middle' ? y + width / 2 : y + width;
      return { text, x, y, upright: true, box: { left: x - size * 0.75, right: x + size * 0.25, top: from - width, bottom: from } };
    }
    const [x, y] = [Number(attribute('x')), Number(attribute('y'))];
    const left = anchor === 'start' ? x : anchor === 'middle' ? x - width / 2 : x - width;
    return { text, x, y, upright: false, box: { left, right: left + width, top: y - size * 0.75, bottom: y + size * 0.25 } };
  });
}

const overlaps = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

function overlappingTexts(svg: string): string[] {
  const all = texts(svg);
  return all.flatMap((one, index) =>
    all.slice(index + 1).filter((other) => overlaps(one.box, other.box)).map((other) => `"${one.text}" and "${other.text}"`),
  );
}

/** The plot's frame: the axes path runs from its top left down to its bottom left, then right. */
function plotArea(svg: string): Box {
  const found = /d="M([\d.]+),([\d.]+)V([\d.]+)H([\d.]+)"/.exec(svg);
  if (!found) throw new Error('no axes drawn');
  const [left, top, bottom, right] = found.slice(1).map(Number) as [number, number, number, number];
  return { left, top, right, bottom };
}

/** The labels left of the plot, beside it: the value axis's ticks. */
function yTickLabels(svg: string): string[] {
  const plot = plotArea(svg);
  return texts(svg)
    .filter(({ box, upright }) => !upright && box.right <= plot.left && box.bottom >= plot.top - 8 && box.top <= plot.bottom + 8)
    .map(({ text }) => text);
}

/** The labels right under the plot, within its width: the x axis's ticks or group names. */
function xTickLabels(svg: string): string[] {
  const plot = plotArea(svg);
  return texts(svg)
    .filter(({ box, upright }) => !upright && box.top >= plot.bottom && box.top <= plot.bottom + 16 && box.left >= plot.left - 20 && box.right <= plot.right + 20)
    .map(({ text }) => text);
}

/** Horizontal dashed lines, as their y and x extent. */
function dashedLines(svg: string): Array<{ y: number; from: number; to: number }> {
  return [...svg.matchAll(/<path d="M([\d.]+),([\d.]+)H([\d.]+)"[^>]*stroke-dasharray/g)].map(([, from, y, to]) => ({
    y: Number(y),
    from: Number(from),
    to: Number(to),
  }));
}

const tickValue = (label: string) => Number(label.replace(/k$/, 'e3').replace(/M$/, 'e6'));

// The efficiency chart's first shape: long labels under narrow bars, values of every size.
const crowded = barChart({
  title: 'CPU per unit of work, ms',
  unit: 'ms',
  bars: [
    { label: 'web per signup', value: 5.22 },
    { label: 'floor per signup', value: 2.26 },
    { label: 'email job', value: 2.77 },
    { label: 'email no-op', value: 0.19 },
    { label: 'crm job', value: 1.07 },
    { label: 'crm no-op', value: 0.09 },
    { label: 'analytics job', value: 0.76 },
    { label: 'analytics no-op', value: 0.06 },
  ],
  targets: [{ value: 6.78, label: 'target ≤ 3× the floor' }],
});

describe('barChart', () => {
  describe('with long labels under narrow bars and a target', () => {
    it('lays no text over other text', () => {
      expect(overlappingTexts(crowded)).toEqual([]);
    });

    it('marks at least three values on the value axis and names every bar under it', () => {
      expect(yTickLabels(crowded).length).toBeGreaterThanOrEqual(3);
      expect(xTickLabels(crowded)).toHaveLength(8);
    });

    it('draws the target as a dashed line with its label beside it', () => {
      const [line] = dashedLines(crowded);
      const label = texts(crowded).find(({ text }) => text === 'target ≤ 3× the floor');
      expect(line).toBeDefined();
      expect(label).toBeDefined();
      if (!line || !label) return;
      expect(Math.abs(label.y - line.y)).toBeLessThanOrEqual(3 * 15);
      expect(label.box.right).toBeGreaterThan(line.from);
      expect(label.box.left).toBeLessThan(line.to);
    });
  });

  describe('with more bars than their values and names fit across', () => {
    const many = barChart({
      title: 'Many bars',
      unit: 'jobs/s',
      bars: Array.from({ length: 24 }, (_, index) => ({ label: `queue number ${index}`, value: 1234.5 + index })),
    });

    it('lays no text over other text', () => {
      expect(overlappingTexts(many)).toEqual([]);
    });
  });

  describe('on a log scale', () => {
    const log = barChart({
      title: 'Signup p50',
      unit: 'ms',
      logScale: true,
      bars: [
        { label: 'up', value: 44.5 },
        { label: 'up', value: 209 },
        { label: 'slow 2000 ms', value: 6.3 },
        { label: 'slow 2000 ms', value: 8135 },
      ],
    });

    it('marks every decade from the smallest value to the largest and says it is a log scale', () => {
      const values = yTickLabels(log).map(tickValue).sort((a, b) => a - b);
      expect(values).toEqual([1, 10, 100, 1_000, 10_000]);
      expect(texts(log).some(({ text, upright }) => upright && text.includes('log scale'))).toBe(true);
    });
  });
});

describe('lineChart', () => {
  describe('with two series on the same values and one apart', () => {
    const steady = Array.from({ length: 40 }, (_, second): [number, number] => [second, 40]);
    const chart = lineChart({
      title: 'CRM requests/s',
      xLabel: 'seconds',
      yLabel: 'requests/s',
      series: [
        { name: '(a) no jitter', points: steady },
        { name: '(b) jitter', points: steady },
        { name: '(c) jitter + breaker', points: steady.map(([second]) => [second, second < 20 ? 0 : 40]) },
      ],
      targets: [{ value: 55, label: 'target: peak ≤ 55/s' }],
    });

    it('keeps its legend outside the plot', () => {
      const plot = plotArea(chart);
      for (const name of ['(a) no jitter', '(b) jitter', '(c) jitter + breaker']) {
        const entry = texts(chart).find(({ text }) => text === name);
        expect(entry, name).toBeDefined();
        expect(entry && overlaps(entry.box, plot), name).toBe(false);
      }
    });

    it('draws each series with its own dash, and marks the points of those that overlap', () => {
      const series = [...chart.matchAll(/<path d="M[^"]*L[^"]*" fill="none"[^>]*>/g)].map(([tag]) => tag);
      expect(series).toHaveLength(3);
      const dashes = series.map((tag) => /stroke-dasharray="([^"]*)"/.exec(tag)?.[1] ?? 'solid');
      expect(new Set(dashes).size).toBe(3);
      const markerColors = new Set([...chart.matchAll(/<(?:circle|rect|path)[^>]*fill="(#\w+)" stroke="#ffffff"/g)].map(([, color]) => color));
      expect(markerColors.size).toBeGreaterThanOrEqual(2);
    });

    it('draws the target as a dashed line with its label beside it', () => {
      const [line] = dashedLines(chart);
      const label = texts(chart).find(({ text }) => text === 'target: peak ≤ 55/s');
      expect(line && label && Math.abs(label.y - line.y)).toBeLessThanOrEqual(3 * 15);
    });
  });
});

describe('the charts of the 2026-12-05 run, drawn again from its saved data', () => {
  const run = JSON.parse(readFileSync('bench/results/2026-12-05.json', 'utf8')) as { results: Array<{ scenario: { id: string }; data: unknown }> };
  const data = (id: string) => run.results.find((result) => result.scenario.id === id)?.data;
  const bars = [
    ...efficiencyCharts(data('efficiency') as EfficiencyChartData),
    ...signupLatencyCharts(data('signup-latency') as SignupLatencyChartData),
    ...pipelineCharts(data('pipeline-throughput') as PipelineChartData),
    ...fairnessCharts(data('fairness') as FairnessChartData),
    ...backendsCharts(data('backends') as BackendsChartData),
    ...capacityCharts(data('capacity') as CapacityData),
  ];
  const lines = [...outageCharts(data('outage-recovery') as OutageChartData), ...memoryCharts(data('memory') as MemoryChartData)];
  const byName = (charts: typeof bars, read: (svg: string) => unknown) => Object.fromEntries(charts.map((chart) => [chart.name, read(chart.svg)]));

  it('lay no text over other text', () => {
    const none = byName([...bars, ...lines], () => []);
    expect(byName([...bars, ...lines], overlappingTexts)).toEqual(none);
  });

  it('mark at least three values on every value axis, and three ticks on every x axis of a line chart', () => {
    const atLeastThree = (labels: string[]) => labels.length >= 3;
    const all = byName([...bars, ...lines], () => true);
    expect(byName([...bars, ...lines], (svg) => atLeastThree(yTickLabels(svg)))).toEqual(all);
    expect(byName(lines, (svg) => atLeastThree(xTickLabels(svg)))).toEqual(byName(lines, () => true));
  });
});
