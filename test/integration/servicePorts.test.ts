import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ServiceProcess } from '../support/serviceProcess';

/**
 * The API and the worker as production starts them, on ports they may not get. A process that
 * cannot bind its port must stop with a message naming the port and the setting that moves it;
 * the API once logged "API listening" and then refused every connection (Express 5 calls the
 * listen callback with the error).
 */

const admin = { ARGUS_ADMIN_TOKEN: `ports-admin-${randomBytes(16).toString('hex')}` };
let holder: Server;
let heldPort: number;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, resolve));
  heldPort = (holder.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => holder.close(() => resolve()));
});

/** Every process a case starts, stopped after it even when it wrongly started. */
const started: ServiceProcess[] = [];
const service = (...args: ConstructorParameters<typeof ServiceProcess>) => {
  const child = new ServiceProcess(...args);
  started.push(child);
  return child;
};
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

describe('service ports', () => {
  it('stops the API with the port and API_PORT named when another process holds its port', async () => {
    const api = service('api', { ...admin, API_PORT: String(heldPort) });
    await expect(api.start()).rejects.toThrow(`cannot listen on port ${heldPort}: another process already listens there (choose another port with API_PORT)`);
  });

  it('stops the API when its metrics port is taken, naming ARGUS_API_METRICS_PORT', async () => {
    const api = service('api', { ...admin, API_PORT: '0', ARGUS_API_METRICS_PORT: String(heldPort) });
    await expect(api.start()).rejects.toThrow(`cannot listen on port ${heldPort}: another process already listens there (choose another port with ARGUS_API_METRICS_PORT)`);
  });

  it('stops the worker when its metrics port is taken, naming ARGUS_WORKER_METRICS_PORT', async () => {
    const tag = randomBytes(3).toString('hex');
    const worker = service('worker', { ARGUS_WORKER_METRICS_PORT: String(heldPort), ARGUS_TASK_QUEUE: `ports-${tag}`, ARGUS_CLUSTER_ID: `ports-${tag}` });
    await expect(worker.start()).rejects.toThrow(`cannot listen on port ${heldPort}: another process already listens there (choose another port with ARGUS_WORKER_METRICS_PORT)`);
  });

  it('binds a free port when API_PORT is 0 and names it in its "API listening" line', async () => {
    const api = service('api', { ...admin, API_PORT: '0' });
    await api.start();
    const port = Number(api.readyFields().port);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(heldPort);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });
});
