import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { startApiHarness } from '../test/support/apiHarness';
import { atScale, mustBeZero, recordFigures } from './support/figures';

/**
 * Schemathesis (from PyPI, in the project's .venv) generates requests from the OpenAPI document
 * the API serves and checks every answer: no server error, documented status, content type,
 * headers and body schema, invalid input refused. Run once with a user's token and once with
 * the admin's, so admin operations get past authorization.
 *
 * One check is left out: `positive_data_acceptance`. The path rules refuse some values the
 * document's pattern cannot rule out on its own (".." segments, surrounding spaces), with a 400
 * that names the rule, by design (README "Path rules"); everything else the document allows is
 * accepted.
 */
const execFileAsync = promisify(execFile);
const schemathesis = path.join(__dirname, '..', '.venv', 'bin', 'schemathesis');
const EXAMPLES = atScale(10, 100);

const reportSchema = z.looseObject({
  exit_code: z.number(),
  operations: z.looseObject({ tested: z.number(), errored: z.number() }),
  test_cases: z.looseObject({ generated: z.number(), with_failures: z.number(), unique_failures: z.number(), errored: z.number() }),
  failures: z.array(z.unknown()),
  errors: z.array(z.unknown()),
});

let h: Awaited<ReturnType<typeof startApiHarness>>;
beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0 });
});
afterAll(async () => {
  await h?.close();
});

async function run(token: string, seed: number) {
  const report = path.join(mkdtempSync(path.join(os.tmpdir(), 'schemathesis-')), 'report.json');
  const args = [
    'run', `${h.url}/api/v2/openapi.json`,
    '--header', `Authorization: Bearer ${token}`,
    '--checks', 'all', '--exclude-checks', 'positive_data_acceptance',
    '--max-examples', String(EXAMPLES), '--seed', String(seed),
    '--no-color', '--report', 'json', '--report-json-path', report,
  ];
  const outcome = await execFileAsync(schemathesis, args, { maxBuffer: 64 * 1024 * 1024, timeout: 1_500_000 }).catch((err: { stdout?: string }) => err);
  const parsed = reportSchema.parse(JSON.parse(readFileSync(report, 'utf8')));
  return { report: parsed, output: String(outcome.stdout ?? '') };
}

describe('schemathesis against the served OpenAPI document', () => {
  it('finds no failure with a user token nor with the admin token', async () => {
    const user = await run(h.tokens.alice, 1);
    const admin = await run(h.tokens.admin, 2);
    const generated = user.report.test_cases.generated + admin.report.test_cases.generated;
    const failures = user.report.test_cases.unique_failures + admin.report.test_cases.unique_failures;
    const errors = user.report.errors.length + admin.report.errors.length + user.report.operations.errored + admin.report.operations.errored;
    recordFigures('schemathesis', 'Schemathesis against the OpenAPI document', [
      { name: 'generated test cases', value: generated },
      { name: 'operations tested (user + admin runs)', value: user.report.operations.tested + admin.report.operations.tested },
      mustBeZero('unique failures (5xx, undocumented status, schema mismatch, ...)', failures),
      mustBeZero('errored operations or test cases', errors),
    ]);
    if (failures + errors > 0) throw new Error(`schemathesis found problems:\n${user.output.slice(-4000)}\n${admin.output.slice(-4000)}`);
    expect(generated).toBeGreaterThan(100);
  }, atScale(10, 30) * 60_000);
});
