/**
 * Where the brokers of a cluster live on the network: on loopback, or (for partitions) each in
 * a network namespace of its own, reaching the loopback-only services (ZooKeeper, PostgreSQL)
 * through forwarders on the host's end of its own link. Node `i` is namespace `i`.
 */
import { NetworkLab, networkLabUnavailable } from './network-lab.js';
import { ForwarderSet } from './tcp-forwarder.js';

const LOOPBACK = '127.0.0.1';

export class NodeNetwork {
  private readonly forwarders = new ForwarderSet();

  private constructor(
    /** Set when the nodes run in namespaces. */
    readonly lab: NetworkLab | undefined,
    /** Why partitions are not possible, when they were asked for and `lab` is unset. */
    readonly unavailable: string | undefined,
  ) {}

  /** Namespaces when `partitions` is asked for and the host allows them; loopback otherwise. */
  static open(size: number, partitions: boolean): NodeNetwork {
    if (!partitions) return new NodeNetwork(undefined, undefined);
    const why = networkLabUnavailable();
    if (why) return new NodeNetwork(undefined, why);
    return new NodeNetwork(NetworkLab.create(size), undefined);
  }

  /** The address node `i` listens on (STOMP, HTTP, replication) and clients reach it at. */
  host(i: number): string {
    return this.lab ? this.lab.nodeAddress(i) : LOOPBACK;
  }

  netns(i: number): string | undefined {
    return this.lab?.netns(i);
  }

  /** `host:port` at which node `i` reaches a loopback service listening on `port`. */
  async serviceAddress(i: number, port: number): Promise<{ host: string; port: number }> {
    if (!this.lab) return { host: LOOPBACK, port };
    const f = await this.forwarders.add({ listenHost: this.lab.hostAddress(i), targetHost: LOOPBACK, targetPort: port });
    return { host: f.listenHost, port: f.listenPort };
  }

  /** The forwarder ports node `i` reaches services through: a split cuts these for the lone node. */
  servicePorts(i: number): number[] {
    return this.lab ? this.forwarders.portsOn(this.lab.hostAddress(i)) : [];
  }

  /** Closes the forwarders and removes the namespaces (call after the nodes are stopped). */
  async close(): Promise<void> {
    await this.forwarders.closeAll();
    this.lab?.destroy();
  }
}
