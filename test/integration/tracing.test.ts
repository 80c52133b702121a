import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { getModel } from '../../src/db/models';
import { issueToken } from '../../src/db/users';
import { startTracing, type Tracing } from '../../src/observability/tracing';
import { tracingClientInterceptors } from '../../src/temporal/client';
import { createWorker } from '../../src/worker/createWorker';
import { serve } from '../support/httpClient';
import { useDoubleStack } from '../support/doubleStack';
import { eventually } from '../support/stack';

/**
 * With tracing on, one POST is one trace: the API's server span, the Temporal client's call, the
 * model workflow and its activities, exported here to memory (OTLP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set in a real deployment).
 */
const exporter = new InMemorySpanExporter();
const env = useDoubleStack();
let tracing: Tracing;
let worker: Worker;
let running: Promise<void>;
let connection: NativeConnection;
let http: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  tracing = startTracing('argus-test', exporter) as Tracing;
  // A traced worker and API of their own, on a task queue of their own, beside the stack's.
  const config = structuredClone(env.stack.config);
  config.temporal.task_queue = 'traced-models';
  connection = await NativeConnection.connect({ address: config.temporal.address });
  worker = await createWorker(config, env.stack.pool, connection, { tracing, pollIntervalMs: 100 });
  running = worker.run();
  const client = new Client({ connection: env.stack.client.connection, namespace: config.temporal.namespace, interceptors: { workflow: tracingClientInterceptors() } });
  const token = (await issueToken(env.stack.pool, 'alice')).token;
  http = await serve(createApp({ config, pool: env.stack.pool, temporal: client, adminToken: 'tracing-admin-token-0123456789' }), () => token);
});
afterAll(async () => {
  await http?.close();
  worker?.shutdown();
  await running;
  await connection?.close();
  await tracing?.shutdown();
});

describe('tracing', () => {
  it('follows one POST from the API through its workflow into its activities, in one trace', async () => {
    const posted = await http.call('POST', '/api/v2/serve/models', { body: 'model_id: traced.model\nmodel_source: $HOME/common/hf/demo/tiny-chat\n', type: 'application/yaml' });
    expect(posted.status).toBe(202);
    const key = (posted.body as { model_key: string }).model_key;
    await eventually(async () => (await getModel(env.stack.pool, key))?.state === 'RUNNING', 30_000, 'the traced model RUNNING');

    const spans: ReadableSpan[] = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'POST /api/v2/serve/models');
    expect(root).toBeDefined();
    const trace = spans.filter((s) => s.spanContext().traceId === root!.spanContext().traceId).map((s) => s.name);
    // API -> client -> workflow (the update's handler, the activities it schedules) -> activities.
    // (The workflow's own run span ends only when the model is deleted.)
    expect(trace).toEqual(
      expect.arrayContaining([
        'POST /api/v2/serve/models',
        'UpdateWithStartWorkflow:deploy',
        'HandleUpdate:deploy',
        'StartActivity:admitModel',
        'RunActivity:admitModel',
        'StartActivity:applyModelToCluster',
        'RunActivity:applyModelToCluster',
        'RunActivity:watchReadiness',
        'RunActivity:recordModelEvent',
      ]),
    );
    // No other trace claims the rollout: every activity span of this model is in the POST's trace.
    const stray = spans.filter((s) => s.name === 'RunActivity:applyModelToCluster' && s.spanContext().traceId !== root!.spanContext().traceId);
    expect(stray).toEqual([]);
  });
});
