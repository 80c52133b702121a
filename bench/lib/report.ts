import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { barChart, lineChart } from './svgChart';

export type BenchName = 'f1' | 'f2' | 'f3' | 'f4' | 'f5' | 'f6';

export interface Section {
  measured_at: string;
  commit: string;
  duration_s: number;
  load_average?: string;
  summary: Record<string, number>;
  /** Every run's figures, so each median can be checked against what it summarises. */
  detail: unknown;
}

export interface Results {
  commit: string;
  /** Uncommitted changes to src/ or bench/ at the time of the run. */
  worktree_dirty: boolean;
  generated_at: string;
  mode: 'full' | 'smoke';
  machine: Record<string, string | number>;
  /** Every key of every benchmark, flat: what the targets are checked against. */
  keys: Record<string, number>;
  targets: Record<string, string>;
  met: Record<string, boolean>;
  sections: Partial<Record<BenchName, Section>>;
  skipped: Partial<Record<BenchName, string>>;
}

interface Target {
  key: string;
  op: '<=' | '>=';
  value: number;
}

export const TARGETS: Target[] = [
  { key: 'f1_overhead_ratio', op: '<=', value: 3 },
  { key: 'f1_p99_ms', op: '<=', value: 500 },
  { key: 'f2_total_s', op: '<=', value: 20 },
  { key: 'f2_put_count', op: '<=', value: 50 },
  { key: 'f3_detail_p99_ms', op: '<=', value: 25 },
  { key: 'f3_list_p99_ms', op: '<=', value: 50 },
  { key: 'f3_detail_vs_express', op: '>=', value: 0.3 },
  { key: 'f4_workflows', op: '>=', value: 10000 },
  { key: 'f4_workers', op: '>=', value: 2 },
  { key: 'f4_worker_rss_mb', op: '<=', value: 1500 },
  { key: 'f4_scale_p99_ms', op: '<=', value: 1000 },
  { key: 'f4_recover_s', op: '<=', value: 60 },
  { key: 'f5_real_ray_ratio', op: '<=', value: 1.2 },
  { key: 'f5_vllm_ratio', op: '<=', value: 1.1 },
  { key: 'f6_neighbour_restarts', op: '<=', value: 0 },
  { key: 'f6_neighbour_failed_chats', op: '<=', value: 0 },
  { key: 'f6_ingress_restarts', op: '<=', value: 0 },
  { key: 'f6_ingress_chat_p50_ratio', op: '<=', value: 1.1 },
];

const git = (args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();

export function gitState(): { commit: string; dirty: boolean } {
  return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain', '--', 'src', 'bench/lib', 'bench/processes', 'bench/*.ts']).length > 0 };
}

export function describeMachine(extra: Record<string, string | number>): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpu_count: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    load_average_at_start: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    ...extra,
  };
}

export function loadPrevious(file: string): Results | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null;
}

/** Recomputes the flat keys and the target verdicts from the sections. */
export function finish(results: Results): Results {
  const order: BenchName[] = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
  results.keys = Object.assign({}, ...order.map((name) => results.sections[name]?.summary ?? {}));
  results.targets = Object.fromEntries(TARGETS.map((t) => [t.key, `${t.op} ${t.value}`]));
  results.met = Object.fromEntries(
    TARGETS.filter((t) => results.keys[t.key] !== undefined).map((t) => {
      const v = results.keys[t.key] as number;
      return [t.key, t.op === '<=' ? v <= t.value : v >= t.value];
    }),
  );
  return results;
}

function charts(results: Results, dir: string): Partial<Record<BenchName, string>> {
  mkdirSync(dir, { recursive: true });
  const written: Partial<Record<BenchName, string>> = {};
  const write = (name: BenchName, svg: string) => {
    writeFileSync(path.join(dir, `${name}.svg`), `${svg}\n`);
    written[name] = `${name}.svg`;
  };
  const s = results.sections;
  if (s.f1) {
    const runs = (s.f1.detail as { runs: Array<{ product_p50_ms: number; product_p99_ms: number; raw_p50_ms: number; raw_p99_ms: number }> }).runs;
    write('f1', barChart({
      title: 'F1 POST -> RUNNING against the Ray double (ms)',
      unit: 'ms',
      groups: runs.flatMap((_, i) => [`run ${i + 1} p50`, `run ${i + 1} p99`]),
      series: [
        { name: 'argus-serve', values: runs.flatMap((r) => [r.product_p50_ms, r.product_p99_ms]) },
        { name: 'raw work', values: runs.flatMap((r) => [r.raw_p50_ms, r.raw_p99_ms]) },
      ],
      target: { value: 500, label: 'p99 target 500 ms' },
    }));
  }
  if (s.f2) {
    const runs = (s.f2.detail as { runs: Array<{ total_s: number; put_count: number }> }).runs;
    write('f2', barChart({
      title: 'F2 storm: seconds to all RUNNING and PUTs per run',
      unit: 's / PUTs',
      groups: runs.map((_, i) => `run ${i + 1}`),
      series: [
        { name: 'seconds to all RUNNING', values: runs.map((r) => r.total_s) },
        { name: 'PUTs', values: runs.map((r) => r.put_count) },
      ],
      target: { value: 20, label: 'PUT target 20' },
    }));
  }
  if (s.f3) {
    const runs = (s.f3.detail as { runs: Array<Record<'detail' | 'list' | 'baseline', { requests_per_s: number }>> }).runs;
    write('f3', barChart({
      title: 'F3 throughput under autocannon (requests/s)',
      unit: 'requests/s',
      groups: runs.map((_, i) => `run ${i + 1}`),
      series: [
        { name: 'GET detail', values: runs.map((r) => r.detail.requests_per_s) },
        { name: 'GET list', values: runs.map((r) => r.list.requests_per_s) },
        { name: 'bare Express', values: runs.map((r) => r.baseline.requests_per_s) },
      ],
    }));
  }
  if (s.f4) {
    const rss = (s.f4.detail as { rss_mb: Array<{ at_s: number; rss_mb: number }> }).rss_mb;
    // One point per second: the larger worker's RSS then (the target holds for each worker).
    const largest = new Map<number, number>();
    for (const r of rss) largest.set(r.at_s, Math.max(largest.get(r.at_s) ?? 0, r.rss_mb));
    write('f4', lineChart({
      title: `F4 largest worker's RSS, ${s.f4.summary.f4_workflows} live workflows on ${s.f4.summary.f4_workers ?? 1} workers (MiB)`,
      unit: 'worker RSS MiB',
      xUnit: 's',
      points: [...largest].map(([x, y]) => ({ x, y })),
      target: { value: 1500, label: 'target 1500 MiB' },
    }));
  }
  if (s.f5) {
    const runs = (s.f5.detail as { runs: Array<{ product_s: number; raw_s: number }> }).runs;
    write('f5', barChart({
      title: 'F5 POST -> RUNNING on a real Ray node (s)',
      unit: 's',
      groups: runs.map((_, i) => `run ${i + 1}`),
      series: [
        { name: 'argus-serve', values: runs.map((r) => r.product_s) },
        { name: 'raw PUT + poll', values: runs.map((r) => r.raw_s) },
      ],
    }));
  }
  if (s.f6) {
    const f6 = s.f6.summary;
    write('f6', barChart({
      title: `F6 1-token chat with ${f6.f6_models} models on a real Ray node (ms)`,
      unit: 'ms',
      groups: ['p50', 'p99'],
      series: [
        { name: 'argus-serve ingress, app per model', values: [f6.f6_ingress_chat_p50_ms as number, f6.f6_ingress_chat_p99_ms as number] },
        { name: "Ray's stock single app", values: [f6.f6_stock_chat_p50_ms as number, f6.f6_stock_chat_p99_ms as number] },
      ],
    }));
  }
  return written;
}

const TITLES: Record<BenchName, string> = {
  f1: 'F1 overhead: POST -> RUNNING against the Ray double',
  f2: 'F2 storm: 1,000 models from 20 users at once',
  f3: 'F3 API: GET detail and list under load',
  f4: 'F4 scale: 10,000 live model workflows on two workers',
  f5: 'F5 real Ray: POST -> RUNNING on a real node',
  f6: 'F6 neighbours: changes to one model leave the others and the ingress alone',
};

/** docs/benchmarks.md: the generated figures, then the analysis kept by hand in bench/ANALYSIS.md. */
export function writeMarkdown(results: Results, markdownFile: string, chartDir: string, analysisFile: string): void {
  const written = charts(results, chartDir);
  const relChart = path.relative(path.dirname(markdownFile), chartDir);
  const lines: string[] = [
    '# Benchmarks',
    '',
    '`make bench` runs every benchmark on this machine and writes `bench/results/latest.json` and this',
    'page (the part above "Analysis" is generated; the analysis is kept in `bench/ANALYSIS.md`).',
    '`make bench-smoke` runs the same code at small sizes in about a minute and writes only under `.data/`.',
    'Each figure is the median over the runs listed; each baseline is measured in the same run, on',
    'the same machine, alternating with the product where the benchmark allows it.',
    '',
    `Generated ${results.generated_at} from commit \`${results.commit.slice(0, 12)}\`${results.worktree_dirty ? ' (with uncommitted changes)' : ''}.`,
    '',
    '## Machine',
    '',
    ...Object.entries(results.machine).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Results',
    '',
    '| key | value | target | met |',
    '| --- | --- | --- | --- |',
    ...Object.entries(results.keys).map(([k, v]) => {
      const target = results.targets[k];
      return `| ${k} | ${v} | ${target ?? ''} | ${target ? (results.met[k] ? 'yes' : '**no**') : ''} |`;
    }),
    '',
  ];
  for (const [name, reason] of Object.entries(results.skipped)) lines.push(`${name.toUpperCase()} was skipped: ${reason}`, '');
  for (const name of ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'] as const) {
    const section = results.sections[name];
    if (!section) continue;
    lines.push(`## ${TITLES[name]}`, '', `Measured ${section.measured_at} (commit \`${section.commit.slice(0, 12)}\`, ${section.duration_s} s, load average ${section.load_average ?? 'not recorded'}).`, '');
    if (written[name]) lines.push(`![${TITLES[name]}](${path.join(relChart, written[name] as string)})`, '');
    lines.push('```json', JSON.stringify(section.detail, compactRss, 1).slice(0, 6000), '```', '');
  }
  if (existsSync(analysisFile)) lines.push(readFileSync(analysisFile, 'utf8').trim(), '');
  writeFileSync(markdownFile, lines.join('\n'));
}

/** The RSS series is in the chart; the page shows how many samples it has. */
function compactRss(key: string, value: unknown): unknown {
  return key === 'rss_mb' && Array.isArray(value) ? `${value.length} samples, see the chart and latest.json` : value;
}
