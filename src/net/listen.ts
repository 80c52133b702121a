import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Binds a server and resolves with the port it got (port 0: any free one), or rejects with a
 * message that names the port and the setting that moves it. Express 5's `app.listen` calls its
 * callback on errors too, so a service that logs "listening" there would report success on a
 * port another process holds, and then refuse every connection.
 */
export function listen(server: Server, port: number, host: string | undefined, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'EADDRINUSE' ? 'another process already listens there' : err.message;
      reject(new Error(`cannot listen on port ${port}: ${reason} (choose another port with ${setting})`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
