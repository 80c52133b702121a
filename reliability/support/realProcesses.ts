import { randomBytes } from 'node:crypto';
import { RayDouble } from '../../test/support/rayDouble';
import { ServiceProcess } from '../../test/support/serviceProcess';

/**
 * The API and the worker as their own processes on a task queue and cluster of their own, in
 * front of a Ray double, against the test stack's Temporal and Postgres.
 */
export async function startRealProcesses(options: { adminToken: string; env?: Record<string, string> }) {
  const ray = new RayDouble();
  await ray.start();
  const tag = randomBytes(3).toString('hex');
  const env = {
    ARGUS_ADMIN_TOKEN: options.adminToken,
    // Port 0: the API binds a free port itself. A port probed here and bound later can be taken in
    // between by a test running in parallel (or an outgoing connection's ephemeral port).
    API_PORT: '0',
    ARGUS_TASK_QUEUE: `processes-${tag}`,
    ARGUS_CLUSTER_ID: `processes-${tag}`,
    RAY_DASHBOARD_URL: ray.url,
    ARGUS_INGRESS_URL: ray.url,
    ...options.env,
  };
  const api = new ServiceProcess('api', env);
  const worker = new ServiceProcess('worker', env);
  await Promise.all([api.start(), worker.start()]);
  const port = Number(api.readyFields().port);
  return {
    ray,
    api,
    worker,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      await Promise.all([api.stop(), worker.stop()]);
      await ray.stop();
    },
  };
}
