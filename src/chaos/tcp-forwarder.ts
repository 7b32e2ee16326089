/**
 * Host-side TCP forwarders for brokers in network namespaces. ZooKeeper and PostgreSQL listen
 * on 127.0.0.1, which a namespace cannot reach; each namespace gets its own forwarder on the
 * host's end of its link, so a cut inside that namespace takes exactly that node's service
 * traffic with it while the services themselves stay on loopback.
 */
import net from 'node:net';

export interface TcpForwarder {
  listenHost: string;
  listenPort: number;
  /** `host:port` a node in the namespace connects to. */
  address: string;
  close(): Promise<void>;
}

/** Listens on `listenHost` (port picked by the OS unless given) and relays each connection to the target. */
export async function startForwarder(o: { listenHost: string; listenPort?: number; targetHost: string; targetPort: number }): Promise<TcpForwarder> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = net.createServer((downstream) => {
    track(downstream);
    const upstream = net.connect({ host: o.targetHost, port: o.targetPort });
    track(upstream);
    // Either side failing ends both: a service that is down must look down to the node (a
    // refused or reset connection), not like a connection that accepts and then hangs.
    const endBoth = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.once('error', endBoth);
    upstream.once('error', endBoth);
    downstream.once('close', endBoth);
    upstream.once('close', endBoth);
    downstream.setNoDelay(true);
    upstream.setNoDelay(true);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listenPort ?? 0, o.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const listenPort = (server.address() as net.AddressInfo).port;
  return {
    listenHost: o.listenHost,
    listenPort,
    address: `${o.listenHost}:${listenPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A set of forwarders closed together. */
export class ForwarderSet {
  private readonly all: TcpForwarder[] = [];

  async add(o: { listenHost: string; targetHost: string; targetPort: number }): Promise<TcpForwarder> {
    const f = await startForwarder(o);
    this.all.push(f);
    return f;
  }

  /** Ports listening on `listenHost`: what a cut of namespace services drops. */
  portsOn(listenHost: string): number[] {
    return this.all.filter((f) => f.listenHost === listenHost).map((f) => f.listenPort);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((f) => f.close()));
  }
}
