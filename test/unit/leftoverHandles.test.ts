import { spawn } from 'node:child_process';
import http from 'node:http';
import leftoverHandles from '../support/leftoverHandles';

/** The teardown that keeps a forgotten process or server from holding `make test` open. */
it('names a server a test left listening and kills a process it left running', async () => {
  const child = spawn('sleep', ['300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const warnings: string[] = [];
  const warn = jest.spyOn(console, 'warn').mockImplementation((message: string) => void warnings.push(message));
  try {
    leftoverHandles();
  } finally {
    warn.mockRestore();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  expect(warnings.join('\n')).toContain(`server {"address":"127.0.0.1","family":"IPv4","port":${port}}`);
  expect(warnings.join('\n')).toContain(`a test left process ${child.pid} running (sleep 300); killing it`);
  expect(await exited).toBe('SIGKILL');
});
