import { type ApiOnRealRay, startApiOnRealRay } from '../support/apiOnRealRay';
import { eventually, RunningStack, testConfig } from '../support/stack';

/**
 * The walking skeleton, all real: the API and a worker in this process, the Temporal dev server,
 * Postgres and a local Ray head node with the CPU stand-in behind Ray's own OpenAI ingress.
 */
let api: ApiOnRealRay;
let stack: RunningStack;
const call: ApiOnRealRay['call'] = (...args) => api.call(...args);

const stateOf = async (key: string) => (await call('GET', `/api/v2/serve/models/${key}`)).body.model?.state;

beforeAll(async () => {
  api = await startApiOnRealRay('carol');
  stack = api.stack;
});

afterAll(async () => {
  await api?.close();
});

describe('walking skeleton on a real Ray node', () => {
  let tinyKey: string;
  let tinyModelId: string;

  it('answers /healthz once Postgres and Temporal are reachable', async () => {
    const response = await fetch(`${api.url}/healthz`);
    expect(response.status).toBe(200);
  });

  it('takes a YAML spec with the contract\'s own model_id (qwen-0.5b) to RUNNING and the model answers chat on the Serve ingress', async () => {
    const posted = await call('POST', '/api/v2/serve/models', 'model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\nnum_replicas: 1\ngpus_per_replica: 1\n', 'application/yaml');
    expect(posted.status).toBe(202);
    expect(posted.body.state).toBe('QUEUED');
    tinyKey = posted.body.model_key;
    expect(tinyKey).toMatch(/^svc-carol-\d{8}-\d{6}-[0-9a-z]{4}$/);
    await eventually(async () => (await stateOf(tinyKey)) === 'RUNNING', 120_000, 'qwen-0.5b to be RUNNING');

    const detail = await call('GET', `/api/v2/serve/models/${tinyKey}`);
    tinyModelId = detail.body.model.model_id;
    expect(tinyModelId).toMatch(/^carol-\d{12}-qwen-0\.5b$/);
    expect(detail.body.model).toMatchObject({ model_source: '/private/hf/demo/tiny-chat', total_gpus: 1, error_summary: null, endpoint: { model: tinyModelId } });
    expect(detail.body.resolved_spec_yaml).toContain('model_source: /private/hf/demo/tiny-chat');
    expect(JSON.stringify(detail.body)).not.toContain(stack.config.serving.storage_root);
    // serve_status comes from a status cache at most a couple of seconds old.
    const serve = await eventually(async () => {
      const status = (await call('GET', `/api/v2/serve/models/${tinyKey}`)).body.serve_status;
      return status.app_status === 'RUNNING' && status;
    }, 10_000, 'serve_status to show RUNNING');
    expect(serve).toMatchObject({ app_name: `argus_llm_app--${tinyKey}--r1`, app_status: 'RUNNING', deployment_status: 'HEALTHY', running_replicas: 1, target_replicas: 1 });
    expect(detail.body.events.map((e: { event_type: string }) => e.event_type)).toEqual(expect.arrayContaining(['DEPLOY_REQUESTED', 'APPLY_SUCCEEDED', 'RUNNING']));

    const chat = await fetch(`${stack.config.serving.ingress_url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: tinyModelId, messages: [{ role: 'user', content: 'Hello' }], stream: false }),
    });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as any).choices[0].message.content).toBe('echo: Hello');
  });

  it('fails a broken checkpoint with an actionable summary, removes it, and leaves the neighbour serving', async () => {
    const posted = await call('POST', '/api/v2/serve/models', 'model_id: broken\nmodel_source: /private/hf/demo/broken-model\n', 'application/yaml');
    expect(posted.status).toBe(202);
    const brokenId = (await call('GET', `/api/v2/serve/models/${posted.body.model_key}`)).body.model.model_id;
    // While Ray retries it, the endpoint answers 503 naming the root cause with the logical path.
    const answers: string[] = [];
    await eventually(async () => {
      const response = await fetch(`${stack.config.serving.ingress_url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: brokenId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
        signal: AbortSignal.timeout(10_000),
      });
      answers.push(`${response.status} ${await response.text()}`);
      return (await stateOf(posted.body.model_key)) === 'FAILED';
    }, 120_000, 'broken to be FAILED');
    expect(answers.filter((a) => !/^(503|404) /.test(a))).toEqual([]);
    expect(answers.some((a) => a.includes('/private/hf/demo/broken-model/config.json'))).toBe(true);
    expect(answers.join('\n')).not.toContain(stack.config.serving.storage_root);
    const detail = await call('GET', `/api/v2/serve/models/${posted.body.model_key}`);
    expect(detail.body.model.error_summary).toMatch(/config\.json.* is malformed/);
    expect(detail.body.model.error_summary).toContain('/private/hf/demo/broken-model');
    expect(JSON.stringify(detail.body)).not.toContain(stack.config.serving.storage_root);
    const models = (await (await fetch(`${stack.config.serving.ingress_url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual([tinyModelId]);
    expect(await stateOf(tinyKey)).toBe('RUNNING');
    const chat = await fetch(`${stack.config.serving.ingress_url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: tinyModelId, messages: [{ role: 'user', content: 'still there?' }], max_tokens: 1 }),
    });
    expect(chat.status).toBe(200);
  });

  it('declares GPUs to the Ray scheduler: a model larger than the whole node is refused at once; one that needs GPUs another model holds waits in line, off the cluster', async () => {
    const never = await call('POST', '/api/v2/serve/models', 'model_id: too-big\nmodel_source: /private/hf/demo/tiny-chat\nnum_replicas: 2\ngpus_per_replica: 8\n', 'application/yaml');
    expect(never.status).toBe(422);
    expect(never.body.error).toMatchObject({ code: 'exceeds_cluster' });
    expect(never.body.error.message).toMatch(/needs 16 H20 GPUs .* the whole cluster has 8/);
    // 8 GPUs while tiny holds 1 of the node's 8: it waits, with its reason, and nothing of it reaches Ray.
    const posted = await call('POST', '/api/v2/serve/models', 'model_id: too-big\nmodel_source: /private/hf/demo/tiny-chat\nnum_replicas: 1\ngpus_per_replica: 8\n', 'application/yaml');
    expect(posted.status).toBe(202);
    await eventually(async () => (await call('GET', `/api/v2/serve/models/${posted.body.model_key}`)).body.model.admission !== null, 30_000, 'too-big in line');
    const detail = await call('GET', `/api/v2/serve/models/${posted.body.model_key}`);
    expect(detail.body.model).toMatchObject({ state: 'QUEUED', admission: { position: 1, reason: 'waiting for 8 H20 GPUs (7 free, none ahead)' } });
    const ray = testConfig().serving.ray_dashboard_url;
    const serve = (await (await fetch(`${ray}/api/serve/applications/`)).json()) as { applications: Record<string, { deployments: Record<string, unknown> }> };
    expect(Object.keys(serve.applications).filter((name) => name.includes(`--${posted.body.model_key}--`))).toEqual([]);
    expect(await stateOf(tinyKey)).toBe('RUNNING');
    expect((await call('DELETE', `/api/v2/serve/models/${posted.body.model_key}`)).status).toBe(200);
    await eventually(async () => (await stateOf(posted.body.model_key)) === 'DELETED', 60_000, 'too-big to be DELETED');
  });

  it('deletes the model: DELETING, then DELETED and gone from the ingress', async () => {
    const deleted = await call('DELETE', `/api/v2/serve/models/${tinyKey}`);
    expect(deleted).toMatchObject({ status: 200, body: { model_key: tinyKey, state: 'DELETING' } });
    await eventually(async () => (await stateOf(tinyKey)) === 'DELETED', 120_000, 'tiny to be DELETED');
    const list = await call('GET', '/api/v2/serve/models');
    expect(list.body.items.map((m: { model_key: string }) => m.model_key)).not.toContain(tinyKey);
  });
});
