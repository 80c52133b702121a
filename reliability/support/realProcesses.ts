import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { RayDouble } from '../../test/support/rayDouble';
import { ServiceProcess } from '../../test/support/serviceProcess';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/**
 * The API and the worker as their own processes on a task queue and cluster of their own, in
 * front of a Ray double, against the test stack's Temporal and Postgres.
 */
export async function startRealProcesses(options: { adminToken: string; env?: Record<string, string> }) {
  const ray = new RayDouble();
  await ray.start();
  const port = await freePort();
  const tag = randomBytes(3).toString('hex');
  const env = {
    ARGUS_ADMIN_TOKEN: options.adminToken,
    API_PORT: String(port),
    ARGUS_TASK_QUEUE: `processes-${tag}`,
    ARGUS_CLUSTER_ID: `processes-${tag}`,
    RAY_DASHBOARD_URL: ray.url,
    ARGUS_INGRESS_URL: ray.url,
    ...options.env,
  };
  const api = new ServiceProcess('api', env);
  const worker = new ServiceProcess('worker', env);
  await Promise.all([api.start(), worker.start()]);
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
