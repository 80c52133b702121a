import { execFile } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { modelListSchema } from '../../src/api/contract/responseSchemas';
import { type ApiOnRealRay, startApiOnRealRay } from '../support/apiOnRealRay';
import { eventually } from '../support/stack';

/**
 * The `argus` command line end to end (the built CLI, as a user runs it) against the real stack:
 * the API and a worker, Temporal, Postgres and a Ray node with the stand-in engine.
 */
const run = promisify(execFile);
const CLI = path.resolve(__dirname, '../../dist/cli/main.js');
const home = mkdtempSync(path.join(os.tmpdir(), 'argus-cli-'));
const profile = path.join(home, 'config', 'argus.json');
let api: ApiOnRealRay;

/** Runs `argus <args>`; never throws: the exit code is part of what is checked. */
async function argus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ARGUS_CLI_CONFIG: profile }, timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  api = await startApiOnRealRay('fran');
});
afterAll(async () => {
  await api?.close();
});

describe('the argus CLI on the real stack', () => {
  const spec = path.join(home, 'qwen.yaml');

  it('logs in, keeping the URL and token in a file only its owner reads', async () => {
    const refused = await argus('login', '--url', api.url, '--token', 'argus_not-a-real-token');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/unauthorized/);
    const login = await argus('login', '--url', api.url, '--token', api.userToken);
    expect(login).toMatchObject({ code: 0 });
    expect(statSync(profile).mode & 0o777).toBe(0o600);
  });

  it('applies a spec and waits: the rollout\'s phases, then RUNNING', async () => {
    writeFileSync(spec, 'model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\nnum_replicas: 1\n');
    const applied = await argus('apply', '-f', spec, '--wait');
    expect(applied.code).toBe(0);
    expect(applied.stderr).toMatch(/DEPLOY_REQUESTED r1/);
    expect(applied.stderr).toMatch(/RUNNING r1/);
    expect(applied.stdout).toMatch(/RUNNING/);
  });

  it('lists, gets (by suffix) and shows events, as tables and as JSON', async () => {
    const listed = await argus('ls', '-o', 'json');
    expect(listed.code).toBe(0);
    const models = modelListSchema.parse(JSON.parse(listed.stdout)).items;
    expect(models.map((m) => [m.model_id_suffix, m.state])).toEqual([['qwen-0.5b', 'RUNNING']]);
    expect((await argus('ls')).stdout).toMatch(/qwen-0\.5b.*RUNNING/);
    const got = await argus('get', 'qwen-0.5b', '-o', 'json');
    expect(JSON.parse(got.stdout).model).toMatchObject({ model_id_suffix: 'qwen-0.5b', state: 'RUNNING' });
    expect((await argus('get', models[0]!.model_key)).stdout).toContain('model_source: /private/hf/demo/tiny-chat');
    const events = await argus('events', 'qwen-0.5b');
    expect(events.stdout.split('\n').filter(Boolean).map((line) => line.split(/\s+/)[1])).toEqual(expect.arrayContaining(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'RUNNING']));
  });

  it('scales and chats through the OpenAI endpoint', async () => {
    const scaled = await argus('scale', 'qwen-0.5b', '2', '-o', 'json');
    expect(JSON.parse(scaled.stdout)).toMatchObject({ state: 'QUEUED', changed: true });
    await eventually(async () => JSON.parse((await argus('get', 'qwen-0.5b', '-o', 'json')).stdout).model.replicas.target === 2 && JSON.parse((await argus('get', 'qwen-0.5b', '-o', 'json')).stdout).model.state === 'RUNNING', 120_000, 'two replicas RUNNING');
    const chat = await argus('chat', 'qwen-0.5b', 'hello there');
    expect(chat).toMatchObject({ code: 0 });
    expect(chat.stdout.trim()).toBe('echo: hello there');
  });

  it("exits non-zero with the API's own message for a bad spec, and for a model it does not know", async () => {
    const bad = path.join(home, 'bad.yaml');
    writeFileSync(bad, 'model_id: qwen-0.5b\nmodel_source: /private/users/someone-else/ckpt\n');
    const refused = await argus('apply', '-f', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/outside the allowed roots.*\(403 model_source_forbidden\)/);
    const unknown = await argus('get', 'no-such-model');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no model of yours is named no-such-model/);
  });

  it('removes the model and waits until it is DELETED', async () => {
    const removed = await argus('rm', 'qwen-0.5b', '--wait', '-o', 'json');
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ state: 'DELETED' });
    expect(JSON.parse((await argus('ls', '-o', 'json')).stdout).items).toEqual([]);
  });
});
