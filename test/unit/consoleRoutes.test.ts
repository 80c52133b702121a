import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { errorHandler } from '../../src/api/errorHandler';
import { consoleRoutes } from '../../src/api/routes/console';

/** How the API serves the console's build: the page for every app path, assets, and a clear 503 when it was never built. */
async function serve(assetsDir: string): Promise<{ url: string; server: Server }> {
  const app = express();
  app.use('/console', consoleRoutes({ openaiBaseUrl: 'http://127.0.0.1:8000/v1', assetsDir }));
  app.use(errorHandler);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('console routes', () => {
  it('answers 503 console_not_built, saying what to run, when there is no build', async () => {
    const { url, server } = await serve(mkdtempSync(path.join(os.tmpdir(), 'console-empty-')));
    try {
      const response = await fetch(`${url}/console/models/x`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'console_not_built', message: expect.stringContaining('make install') });
    } finally {
      server.close();
    }
  });

  it('serves the page at every app path, picks up a rebuild at once, and lets hashed assets be cached', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'console-build-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<script src="/console/assets/index-aaa.js"></script>');
    writeFileSync(path.join(dir, 'assets', 'index-aaa.js'), 'console.log(1)');
    const { url, server } = await serve(dir);
    try {
      for (const at of ['/console/', '/console/models/svc-a-20260101-000000-abcd', '/console/admin']) {
        const page = await fetch(`${url}${at}`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await page.text()).toContain('index-aaa.js');
      }
      const csp = (await fetch(`${url}/console/`)).headers.get('content-security-policy');
      expect(csp).toContain("connect-src 'self' http://127.0.0.1:8000");
      const asset = await fetch(`${url}/console/assets/index-aaa.js`);
      expect(asset.headers.get('cache-control')).toMatch(/immutable/);
      expect((await fetch(`${url}/console/assets/index-gone.js`)).status).toBe(404);
      writeFileSync(path.join(dir, 'index.html'), '<script src="/console/assets/index-bbb.js"></script>');
      expect(await (await fetch(`${url}/console/`)).text()).toContain('index-bbb.js');
    } finally {
      server.close();
    }
  });
});
