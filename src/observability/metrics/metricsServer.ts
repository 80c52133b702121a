import http from 'node:http';
import type { Registry } from 'prom-client';
import { listen } from '../../net/listen';

/** Serves `GET /metrics` of a registry on its own port (no token: bind it where only Prometheus reaches). */
export async function serveMetrics(registry: Registry, port: number, setting: string, host = '0.0.0.0'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`));
  });
  await listen(server, port, host, setting);
  return server;
}
