// Where a process's CPU went, from the V8 profile `node --cpu-prof` writes when it exits: self time
// summed by function and by owner (a package in node_modules, a folder of this project, or Node's
// own internals), as markdown tables for the benchmark report. Self time is the time a sample found
// that function on top of the stack, so the rows add up to the profile's whole duration.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuCost {
  name: string;
  /** ms of self time. */
  selfMs: number;
  /** Share of all sampled time, idle excluded. */
  share: number;
}

export interface ProfileSummary {
  /** ms the profile covers, idle included. */
  totalMs: number;
  /** ms not idle (the process's own work, GC included). */
  busyMs: number;
  byOwner: CpuCost[];
  byFunction: CpuCost[];
}

const IDLE = new Set(['(idle)', '(program)']);

/** Summarises a .cpuprofile file; `top` rows of each table. */
export function summarizeCpuProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1_000);
  });

  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || IDLE.has(frame.functionName)) continue;
    busyMs += ms;
    const fn = `${frame.functionName || '(anonymous)'} ${where(frame.url, frame.lineNumber)}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
    const owner = ownerOf(frame.url, frame.functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
  }
  const rank = (costs: Map<string, number>) =>
    [...costs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: ms, share: busyMs > 0 ? ms / busyMs : 0 }));
  return { totalMs: (profile.endTime - profile.startTime) / 1_000, busyMs, byOwner: rank(owners), byFunction: rank(functions) };
}

/** The package or project folder a frame's code belongs to. */
export function ownerOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'V8 garbage collector';
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 and native code';
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const project = /\/(app|lib|workers|infra|bench|scripts|dist|\.next)\/([^/]+)/.exec(url);
  if (project?.[1] === '.next' || project?.[1] === 'dist') return `${project[1]}/ (bundled: Next or our code)`;
  if (project) return `${project[1]}/${project[2]?.includes('.') ? '' : project[2]}`;
  return url.replace(/^file:\/\//, '');
}

function where(url: string, line: number): string {
  if (url === '') return '';
  const short = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*?\/(app|lib|workers|infra|bench)\//, '$1/');
  return `(${short}:${line + 1})`;
}

export function costTable(costs: CpuCost[], perUnit?: { count: number; unit: string }): string {
  const header = perUnit ? `| | self ms | share | ms per ${perUnit.unit} |` : '| | self ms | share |';
  const rule = perUnit ? '|---|---|---|---|' : '|---|---|---|';
  const rows = costs.map((cost) => {
    const cells = [cost.name.replace(/\|/g, '\\|'), cost.selfMs.toFixed(0), `${(cost.share * 100).toFixed(1)}%`];
    if (perUnit) cells.push((cost.selfMs / perUnit.count).toFixed(3));
    return `| ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
