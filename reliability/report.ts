import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Figure } from './support/figures';
import { PARTS_DIR } from './support/figures';

/** Gathers the figures the scenarios recorded into results/latest.json and the table in docs/reliability.md. */
interface Part {
  scenario: string;
  title: string;
  scale: string;
  commit: string;
  measured_at: string;
  figures: Figure[];
}

const root = path.join(__dirname, '..');
const parts: Part[] = readdirSync(PARTS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(PARTS_DIR, f), 'utf8')) as Part);
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
const machine = {
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model ?? 'unknown',
  memory_gib: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
};
const failed = parts.flatMap((p) => p.figures.filter((f) => f.ok === false).map((f) => `${p.scenario}.${f.name}`));
const result = {
  commit: git('rev-parse', 'HEAD') + (dirty ? '+uncommitted' : ''),
  generated_at: new Date().toISOString(),
  machine,
  all_targets_met: failed.length === 0,
  failed_targets: failed,
  scenarios: Object.fromEntries(parts.map((p) => [p.scenario, { title: p.title, scale: p.scale, commit: p.commit, measured_at: p.measured_at, figures: p.figures }])),
};
writeFileSync(path.join(root, 'reliability', 'results', 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);

const rows = parts.flatMap((p) =>
  p.figures.map((f) => `| ${p.title} | ${f.name} | ${f.value} | ${f.target ?? ''} | ${f.ok === undefined ? '' : f.ok ? 'yes' : '**no**'} | ${p.commit} |`),
);
const markdown = `# Reliability and security figures

Written by \`make reliability\` (\`reliability/report.ts\`) from the run recorded in
\`reliability/results/latest.json\`; do not edit by hand. Each scenario runs against the real stack
(Temporal dev server, Postgres, the API and worker), with the Ray double only where a fault is injected.

- report written at commit \`${result.commit}\`; each row names the commit its scenario ran on
- measured: ${result.generated_at} on ${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gib} GiB, ${machine.os}, Node ${machine.node}
- scale: ${[...new Set(parts.map((p) => p.scale))].join(', ')}
- every target met: ${result.all_targets_met ? 'yes' : `no (${failed.join(', ')})`}

| scenario | figure | value | target | met | commit |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(path.join(root, 'docs', 'reliability.md'), markdown);
console.log(`reliability: ${parts.length} scenarios, ${failed.length === 0 ? 'every target met' : `targets missed: ${failed.join(', ')}`}`);
