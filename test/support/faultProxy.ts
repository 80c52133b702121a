import net from 'node:net';

/**
 * A TCP proxy a test puts between a client and a real service (e.g. a pg Pool and Postgres) to
 * cut the connection and restore it, without touching the service other tests share. While cut,
 * open connections are dropped and new ones are closed as soon as they arrive, as when the
 * service is down.
 */
export class FaultProxy {
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  /** Connections refused while cut: proof that the client really tried. */
  refused = 0;
  private readonly server = net.createServer((client) => this.accept(client));

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    this.isCut = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.isCut) {
      this.refused += 1;
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
