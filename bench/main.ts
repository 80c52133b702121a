/**
 * `make bench` (full) and `make bench-smoke`: runs the benchmarks against the services
 * scripts/bench.sh started, then writes the results and docs/benchmarks.md.
 *
 *   node --import tsx bench/main.ts [--smoke] [--only=f5,f1] [--report]
 *
 * F5 and F6 need a real Ray node (skipped without one, or with BENCH_WITHOUT_RAY=1).
 *
 * --report only re-renders docs/benchmarks.md from bench/results/latest.json.
 *
 * With --only, the other benchmarks' sections are kept from the previous results file, each
 * with the commit and time it was measured at.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { runF1 } from './f1Overhead';
import { runF2 } from './f2Storm';
import { runF3 } from './f3Api';
import { runF4 } from './f4Scale';
import { runF5 } from './f5RealRay';
import { runF6 } from './f6Neighbours';
import { BenchName, describeMachine, finish, gitState, loadPrevious, Results, Section, writeMarkdown } from './lib/report';
import { round } from './lib/stats';

const ROOT = path.resolve(__dirname, '..');
const smoke = process.argv.includes('--smoke');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
/** Which benchmarks to run, in this order. */
const only = (onlyArg ? onlyArg.slice('--only='.length) : 'f1,f2,f3,f4,f5,f6').split(',') as BenchName[];

/** Full sizes are the issue's; smoke sizes exercise the same code in about a minute. */
const SIZES = smoke
  ? {
      f1: { runs: 1, samplesPerRun: 5, warmupSamples: 1 },
      f2: { runs: 1, users: 2, modelsPerUser: 5, timeoutMs: 60_000 },
      f3: { runs: 1, users: 5, modelsPerUser: 4, durationS: 2, warmupS: 1, connections: 10 },
      f4: { users: 5, modelsPerUser: 10, workers: 2, scaleSamples: 2, recoveries: 1, concurrency: 20, budgetS: 60, reconcileWindowS: 10 },
      f5: { runs: 1, vllmRuns: 1 },
      f6: { models: 4, latencySamples: 100, warmupSamples: 10, maxLoopChats: 5_000, maxLoopS: 900 },
    }
  : {
      f1: { runs: 3, samplesPerRun: 30, warmupSamples: 3 },
      f2: { runs: 3, users: 20, modelsPerUser: 50, timeoutMs: 600_000 },
      f3: { runs: 3, users: 50, modelsPerUser: 20, durationS: 30, warmupS: 3, connections: 10 },
      // BENCH_F4_MODELS_PER_USER shrinks F4 (50 users x this many models) for quicker trials of a change.
      f4: { users: 50, modelsPerUser: Number(process.env.BENCH_F4_MODELS_PER_USER ?? 200), workers: 2, scaleSamples: 30, recoveries: 3, concurrency: 50, budgetS: 420, reconcileWindowS: 60 },
      // Ray's own start-up of a replica varies by seconds from one deploy to the next: more runs than elsewhere.
      f5: { runs: 7, vllmRuns: 3 },
      // 10 models RUNNING, and as many again in Ray's stock layout beside them. With 20 of each
      // (40 replica processes) the two cores were saturated: load average 85, a chat 2-5 s in
      // either layout, so the latency comparison measured the scheduler, and F6 ran past 30 minutes.
      f6: { models: 10, latencySamples: 200, warmupSamples: 10, maxLoopChats: 10_000, maxLoopS: 900 },
    };

const outDir = smoke ? path.join(ROOT, '.data', 'bench') : ROOT;
const resultsFile = smoke ? path.join(outDir, 'smoke.json') : path.join(ROOT, 'bench', 'results', 'latest.json');
const markdownFile = smoke ? path.join(outDir, 'benchmarks.md') : path.join(ROOT, 'docs', 'benchmarks.md');
const chartDir = smoke ? path.join(outDir, 'charts') : path.join(ROOT, 'docs', 'benchmarks');
const workDir = path.join(ROOT, '.data', 'bench');

const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function rayAnswers(url: string): Promise<boolean> {
  try {
    const response = await request(`${url}/api/version`, { headersTimeout: 3_000 });
    await response.body.text();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

function write(results: Results): void {
  results.machine.load_average_at_end = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  finish(results);
  mkdirSync(path.dirname(resultsFile), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  writeMarkdown(results, markdownFile, chartDir, path.join(ROOT, 'bench', 'ANALYSIS.md'));
}

async function main() {
  if (process.argv.includes('--report')) {
    // Re-renders docs/benchmarks.md from the stored results (after editing bench/ANALYSIS.md).
    const stored = loadPrevious(resultsFile);
    if (!stored) throw new Error(`no results in ${resultsFile}; run make bench first`);
    writeMarkdown(stored, markdownFile, chartDir, path.join(ROOT, 'bench', 'ANALYSIS.md'));
    log(`wrote ${path.relative(ROOT, markdownFile)} from ${path.relative(ROOT, resultsFile)}`);
    return;
  }
  const git = gitState();
  // Sections not run now are kept from the previous results, each with its own commit and time.
  const previous = loadPrevious(resultsFile);
  const results: Results = {
    commit: git.commit,
    worktree_dirty: git.dirty,
    generated_at: new Date().toISOString(),
    mode: smoke ? 'smoke' : 'full',
    machine: describeMachine({ services: 'PostgreSQL and the Temporal dev server (SQLite) on this machine; Ray double in process; real Ray for F5 and F6' }),
    keys: {},
    targets: {},
    met: {},
    sections: { ...(previous?.sections ?? {}) },
    skipped: {},
  };
  const rayUrl = process.env.RAY_DASHBOARD_URL ?? 'http://127.0.0.1:8265';
  const ingressUrl = process.env.BENCH_INGRESS_URL ?? 'http://127.0.0.1:8000';
  const benches: Record<BenchName, () => Promise<{ summary: Record<string, number> } & Record<string, unknown>>> = {
    f1: () => runF1(SIZES.f1, log),
    f2: () => runF2({ ...SIZES.f2, workDir }, log),
    f3: () => runF3({ ...SIZES.f3, workDir }, log),
    f4: () => runF4(SIZES.f4, log),
    f5: async () => {
      // The stand-in (f5_*) and the real engine (f5_vllm_*) side by side, each against its raw PUT-and-poll.
      const standIn = await runF5({ runs: SIZES.f5.runs, rayDashboardUrl: rayUrl, ingressUrl, engine: 'standin' }, log);
      const vllm = await runF5({ runs: SIZES.f5.vllmRuns, rayDashboardUrl: rayUrl, ingressUrl, engine: 'vllm-cpu' }, log);
      return { runs: standIn.runs, vllm_runs: vllm.runs, summary: { ...standIn.summary, ...vllm.summary } };
    },
    f6: () => runF6({ ...SIZES.f6, rayDashboardUrl: rayUrl, ingressUrl }, log),
  };
  let failed = false;
  for (const name of only) {
    if (!(name in benches)) throw new Error(`unknown benchmark ${name} (f1-f6)`);
    if ((name === 'f5' || name === 'f6') && (process.env.BENCH_WITHOUT_RAY === '1' || !(await rayAnswers(rayUrl)))) {
      results.skipped[name] = process.env.BENCH_WITHOUT_RAY === '1' ? 'BENCH_WITHOUT_RAY=1 (no Ray node for this run)' : `no Ray dashboard answered at ${rayUrl}`;
      log(`${name.toUpperCase()} skipped: ${results.skipped[name]}`);
      continue;
    }
    log(`${name.toUpperCase()} starting`);
    const started = performance.now();
    const loadBefore = os.loadavg()[0]?.toFixed(2);
    try {
      const { summary, ...detail } = await benches[name]();
      const section: Section = {
        measured_at: new Date().toISOString(),
        commit: git.commit,
        duration_s: round((performance.now() - started) / 1000),
        load_average: `${loadBefore} at start, ${os.loadavg()[0]?.toFixed(2)} at end (1-minute)`,
        summary,
        detail,
      };
      results.sections[name] = section;
      log(`${name.toUpperCase()} done in ${section.duration_s} s: ${JSON.stringify(summary)}`);
    } catch (err) {
      failed = true;
      delete results.sections[name];
      results.skipped[name] = `failed: ${(err as Error).message}`;
      log(`${name.toUpperCase()} FAILED: ${(err as Error).stack ?? String(err)}`);
    }
    // Written after every benchmark, so a run cut short keeps what it measured.
    write(results);
  }
  write(results);
  log(`wrote ${path.relative(ROOT, resultsFile)} and ${path.relative(ROOT, markdownFile)}`);
  for (const [key, value] of Object.entries(results.keys)) {
    const target = results.targets[key];
    log(`  ${key.padEnd(24)} ${String(value).padStart(10)} ${target ? `target ${target}: ${results.met[key] ? 'met' : 'NOT met'}` : ''}`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
