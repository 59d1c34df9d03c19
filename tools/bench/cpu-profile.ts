/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`, or node:inspector's Profiler): self time by area (a workspace
 * package file, a dependency, Node's internals) and by function. Used by tools/bench/profile.ts and diff-pair.ts.
 */
import { readFileSync } from 'node:fs';
import * as L from './lib';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script URL belongs: a workspace package file, a dependency, Node's internals. */
function area(url: string): string {
  if (!url) return '(native / V8)';
  const u = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1]!;
  const pkg = /\/(packages|plugins)\/([^/]+)\/src\/(.+)$/.exec(u);
  if (pkg) return `${pkg[1]}/${pkg[2]}/src/${pkg[3]}`;
  if (u.startsWith('node:')) return 'node internals';
  return u.replace(L.REPO + '/', '');
}

/** Self time by area and by function of a `node --cpu-prof` profile. */
export function summarise(
  file: string,
  top = 12,
): { total: number; byArea: [string, number][]; byFunction: [string, number][] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    const a = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : area(n.callFrame.url);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const f = `${name} ${a.startsWith('(') ? '' : `(${a}:${n.callFrame.lineNumber + 1})`}`.trim();
    fns.set(f, (fns.get(f) ?? 0) + dt);
  });
  const sort = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]).slice(0, top);
  return { total, byArea: sort(areas), byFunction: sort(fns) };
}

/** Print a profile's summary: self time by area and by function. */
export function printProfile(label: string, file: string, top = 12): void {
  const s = summarise(file, top);
  console.log(`\nCPU profile, ${label}: profiled ${L.fmtMs(s.total)} (${file})`);
  console.log(
    L.table(
      ['self time by area', 'ms', 'share'],
      s.byArea.map(([k, v]) => [k, v.toFixed(0), `${((100 * v) / s.total).toFixed(0)}%`]),
    ),
  );
  console.log(
    L.table(
      ['self time by function', 'ms', 'share'],
      s.byFunction.map(([k, v]) => [k.slice(0, 110), v.toFixed(0), `${((100 * v) / s.total).toFixed(0)}%`]),
    ),
  );
}
