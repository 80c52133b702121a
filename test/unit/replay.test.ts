import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Saved histories of real runs (scripts/save-histories.sh) replayed against the current
 * workflow code: a change that breaks determinism for running models fails CI. The replay runs
 * in its own Node process (the compiled replay tool) because protobuf classes do not survive
 * Jest's module sandbox.
 */
const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/histories');
const TOOL = path.join(ROOT, 'dist/worker/replayHistories.js');

const replay = (dir: string) => spawnSync(process.execPath, [TOOL, dir], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TEMPORAL_LOG_LEVEL: 'ERROR' } });

describe('workflow replay', () => {
  it('replays every saved history without nondeterminism', () => {
    const result = replay(FIXTURES);
    expect(result.stdout).toContain(`replayed ${readdirSync(FIXTURES).length}, failed 0`);
    expect(result.status).toBe(0);
  });

  it('fails on a history the current code would not produce (the check can fail)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'replay-'));
    const [file] = readdirSync(FIXTURES);
    const history = JSON.parse(readFileSync(path.join(FIXTURES, file as string), 'utf8'));
    // Rename the first scheduled activity: the code schedules recordModelEvent there.
    const scheduled = history.events.find((e: { activityTaskScheduledEventAttributes?: unknown }) => e.activityTaskScheduledEventAttributes);
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'someOtherActivity';
    writeFileSync(path.join(dir, 'tampered.json'), JSON.stringify(history));
    const result = replay(dir);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('FAIL tampered');
  });
});
