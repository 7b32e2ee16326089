/**
 * A replicated group of real broker processes on loopback, built from the seed's
 * `<replicatedLevelDB>` block with only the addresses changed. Every node has a fixed STOMP port
 * (picked free once, kept across restarts) so a failover URL can list them all; the replication
 * bind uses port 0. Roles come from polling each node's `/api/status`. `stopAll()` kills by PID.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import stompit from 'stompit';
import { connect, type StompClient } from '../../src/client/index.js';
import { tempDir } from './broker-process.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { BrokerNodeProcess } from './node-process.js';

export interface NodeStatus {
  role: 'master' | 'slave' | 'standby';
  epoch?: number;
  reason?: string;
  ha: Record<string, unknown> & { nodeId?: string; log?: { epoch: number; position: number } };
  connectors: Array<{ url: string; port: number }>;
}

export interface ClusterOptions {
  zkConnect: string;
  zkPath: string;
  nodes?: number;
  replicas?: number;
  sync?: string;
  brokerName?: string;
  zkSessionTimeout?: string;
  syncTimeout?: string;
  /** Extra attributes for one node's `<replicatedLevelDB>` (e.g. a wrong securityToken). */
  attrs?: (index: number) => Record<string, string>;
  /** Start every node at once (default true); false leaves the start order to the caller. */
  start?: boolean;
  /** Give every node an OpenWire connector too, on a fixed port (`ClusterNode.openwirePort`). */
  openwire?: boolean;
  /** `schedulerSupport="true"` on <broker> (delayed delivery). */
  schedulerSupport?: boolean;
  /** Give every node an MQTT connector too, on a fixed port (`ClusterNode.mqttPort`). */
  mqtt?: boolean;
}

export class ClusterNode extends BrokerNodeProcess<NodeStatus> {
  constructor(
    readonly index: number,
    name: string,
    dir: string,
    configFile: string,
    stompPort: number,
    httpPort: number,
    readonly openwirePort?: number,
    readonly mqttPort?: number,
  ) {
    super(name, dir, configFile, stompPort, httpPort);
  }

  /** The journal directory: the seed's block puts it at ${activemq.data}/leveldb, and the node runs with --data <dir>/data. */
  get storeDir(): string {
    return path.join(this.dir, 'data', 'leveldb');
  }
}

export class Cluster {
  constructor(
    readonly nodes: ClusterNode[],
    readonly opts: ClusterOptions,
  ) {}

  /** Every node's STOMP address, in node order. */
  failoverUrl(query = 'randomize=false&initialReconnectDelay=50&maxReconnectDelay=500'): string {
    return `failover:(${this.nodes.map((n) => n.url).join(',')})?${query}`;
  }

  /** Every node's OpenWire address, in node order, as a Java client's failover URL (needs `openwire: true`). */
  openwireFailoverUrl(query = 'randomize=false&initialReconnectDelay=50&maxReconnectDelay=500'): string {
    return `failover:(${this.nodes.map((n) => `tcp://127.0.0.1:${n.openwirePort!}`).join(',')})?${query}`;
  }

  async statuses(): Promise<Array<NodeStatus | null>> {
    return Promise.all(this.nodes.map((n) => n.status()));
  }

  /** Waits until exactly one running node is master and `slaves` others are slaves; returns the master. */
  async waitForMaster(opts: { slaves?: number; timeoutMs?: number; not?: ClusterNode } = {}): Promise<{ master: ClusterNode; status: NodeStatus }> {
    return waitFor(
      `one master${opts.slaves !== undefined ? ` and ${opts.slaves} slaves` : ''}`,
      async () => {
        const st = await this.statuses();
        const masters = this.nodes.filter((_, i) => st[i]?.role === 'master');
        const slaves = st.filter((s) => s?.role === 'slave').length;
        if (masters.length !== 1 || masters[0] === opts.not) return undefined;
        if (opts.slaves !== undefined && slaves < opts.slaves) return undefined;
        return { master: masters[0], status: st[this.nodes.indexOf(masters[0])]! };
      },
      opts.timeoutMs ?? 30_000,
      50,
    ).catch(async (e: Error) => {
      // A CI run keeps only this message: say what each node thought and did last.
      const st = await this.statuses();
      const nodes = this.nodes.map((n, i) => `--- ${n.name}: ${JSON.stringify(st[i] ? { role: st[i]!.role, reason: st[i]!.reason, epoch: st[i]!.epoch } : 'no status')}\n${n.output().split('\n').slice(-12).join('\n')}`);
      throw new Error(`${e.message}\n${nodes.join('\n')}`, { cause: e });
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }
}

/** The seed's block (test/fixtures/config/seed-replicated-leveldb.xml) with loopback addresses. */
export function clusterXml(o: {
  brokerName: string;
  replicas: number;
  zkConnect: string;
  zkPath: string;
  sync: string;
  stompPort: number;
  openwirePort?: number;
  mqttPort?: number;
  extra: Record<string, string>;
  schedulerSupport?: boolean;
}): string {
  const attrs = Object.entries(o.extra)
    .map(([k, v]) => `\n    ${k}="${v}"`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<broker xmlns="http://activemq.apache.org/schema/core" brokerName="${o.brokerName}" dataDirectory="\${activemq.data}"${o.schedulerSupport ? ' schedulerSupport="true"' : ''}>

<persistenceAdapter>
    <replicatedLevelDB
    directory="\${activemq.data}/leveldb"
    replicas="${o.replicas}"
    bind="tcp://127.0.0.1:0"
    zkAddress="${o.zkConnect}"
    sync="${o.sync}"
    zkPath="${o.zkPath}"${attrs}
    />
</persistenceAdapter>

    <transportConnectors>
        <transportConnector name="stomp" uri="stomp://127.0.0.1:${o.stompPort}"/>${o.openwirePort === undefined ? '' : `
        <transportConnector name="openwire" uri="tcp://127.0.0.1:${o.openwirePort}"/>`}${o.mqttPort === undefined ? '' : `
        <transportConnector name="mqtt" uri="mqtt://127.0.0.1:${o.mqttPort}"/>`}
    </transportConnectors>
</broker>
`;
}

/** Writes the configs and starts every node (not waiting for roles). */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const count = opts.nodes ?? 3;
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    const dir = tempDir('qmq-cluster-');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const stompPort = await freePort();
    const httpPort = await freePort();
    const openwirePort = opts.openwire ? await freePort() : undefined;
    const mqttPort = opts.mqtt ? await freePort() : undefined;
    const extra: Record<string, string> = {
      zkSessionTimeout: opts.zkSessionTimeout ?? '2s',
      ...(opts.syncTimeout ? { syncTimeout: opts.syncTimeout } : {}),
      ...(opts.attrs?.(i) ?? {}),
    };
    const configFile = path.join(dir, 'activemq.xml');
    writeFileSync(
      configFile,
      clusterXml({ brokerName: opts.brokerName ?? 'ppgmq', replicas: opts.replicas ?? count, zkConnect: opts.zkConnect, zkPath: opts.zkPath, sync: opts.sync ?? 'quorum_disk', stompPort, openwirePort, mqttPort, extra, schedulerSupport: opts.schedulerSupport }),
    );
    nodes.push(new ClusterNode(i, `n${i}`, dir, configFile, stompPort, httpPort, openwirePort, mqttPort));
  }
  if (opts.start ?? true) for (const n of nodes) n.start();
  return new Cluster(nodes, opts);
}

// --- load with a history ---------------------------------------------------------------------


export interface History {
  /** Every send's outcome by message id: ok = receipted (acknowledged), failed = error, unknown = neither yet. */
  sends: Map<string, 'ok' | 'failed' | 'unknown'>;
  deliveries: Array<{ id: string; redelivered: boolean; at: number; messageId?: string; via?: string }>;
  /** Wall time of each acknowledged send, for failover gaps. */
  ackTimes: number[];
}

export interface HistoryCheck {
  acked: number;
  lost: string[];
  /** Ids delivered more than once where a later copy lacked the redelivered flag. */
  unflaggedDuplicates: string[];
  /** Deliveries in all, and ids delivered more than once with every later copy flagged (allowed). */
  deliveries: number;
  flaggedDuplicates: number;
  /** Longest time between two consecutive acknowledged sends. */
  maxAckGapMs: number;
}

export function checkHistory(h: History): HistoryCheck {
  const seen = new Map<string, number>();
  const unflagged = new Set<string>();
  for (const d of h.deliveries) {
    const n = (seen.get(d.id) ?? 0) + 1;
    seen.set(d.id, n);
    if (n > 1 && !d.redelivered) unflagged.add(d.id);
  }
  const acked = [...h.sends].filter(([, o]) => o === 'ok').map(([id]) => id);
  const times = [...h.ackTimes].sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  const flagged = [...seen].filter(([id, n]) => n > 1 && !unflagged.has(id)).length;
  return {
    acked: acked.length,
    lost: acked.filter((id) => !seen.has(id)),
    unflaggedDuplicates: [...unflagged],
    deliveries: h.deliveries.length,
    flaggedDuplicates: flagged,
    maxAckGapMs: gap,
  };
}

/** How long the consumer must receive nothing before a history is judged. */
const QUIET_MS = 1000;

/**
 * Producers (our failover client, and stompit's ConnectFailover) and one consumer (ours, with
 * client-individual acks) working against the group the whole time; everything is recorded.
 */
export class Workload {
  readonly history: History = { sends: new Map(), deliveries: [], ackTimes: [] };
  private running = true;
  private readonly tasks: Promise<void>[] = [];
  private readonly clients: StompClient[] = [];
  private stompitFailover: any = null;
  private stompitClient: any = null;
  private stompitHandle: { abort(): void } | null = null;
  private closed = false;
  private consumer: StompClient | null = null;

  private constructor(
    private readonly cluster: Cluster,
    readonly queue: string,
  ) {}

  static async start(cluster: Cluster, opts: { producers?: number; stompit?: boolean; queue?: string } = {}): Promise<Workload> {
    const w = new Workload(cluster, opts.queue ?? `/queue/ha.${Math.random().toString(36).slice(2, 8)}`);
    await w.startConsumer();
    for (let p = 0; p < (opts.producers ?? 2); p++) await w.startProducer(`p${p}`);
    if (opts.stompit ?? true) w.startStompit('s0');
    return w;
  }

  private record(id: string, outcome: 'ok' | 'failed' | 'unknown'): void {
    this.history.sends.set(id, outcome);
    if (outcome === 'ok') this.history.ackTimes.push(Date.now());
  }

  private async startConsumer(): Promise<void> {
    const c = await connect(this.cluster.failoverUrl(), { heartbeatMs: 1000, timeoutMs: 20_000 });
    this.consumer = c;
    this.clients.push(c);
    const sub = await c.subscribe(this.queue, { ack: 'client-individual', prefetch: 200 });
    this.tasks.push(
      (async () => {
        for await (const m of sub) {
          this.history.deliveries.push({ id: m.text(), redelivered: m.redelivered, at: Date.now(), messageId: m.headers['message-id'], via: c.connectedAddress });
          m.ack().catch(() => undefined);
        }
      })().catch(() => undefined),
    );
  }

  private async startProducer(name: string): Promise<void> {
    const c = await connect(this.cluster.failoverUrl(), { heartbeatMs: 1000, timeoutMs: 20_000, producerId: `${name}-${Date.now()}` });
    this.clients.push(c);
    this.tasks.push(
      (async () => {
        for (let i = 0; this.running; i++) {
          const id = `${name}-${i}`;
          this.record(id, 'unknown');
          try {
            await c.send(this.queue, id, { persistent: 'true' });
            this.record(id, 'ok');
          } catch {
            this.record(id, 'failed');
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      })(),
    );
  }

  private startStompit(name: string): void {
    const servers = this.cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.stompPort, connectHeaders: { host: '/', 'heart-beat': '0,0', 'accept-version': '1.2' } }));
    const failover = new stompit.ConnectFailover(servers, { initialReconnectDelay: 50, maxReconnectDelay: 500, useExponentialBackOff: true, maxReconnects: -1 });
    this.stompitFailover = failover;
    failover.on('error', () => undefined);
    let current: any = null;
    this.stompitHandle = failover.connect((error: Error | null, c: any, reconnect: () => void) => {
      if (error) return;
      if (this.closed) {
        c.destroy();
        return;
      }
      current = c;
      this.stompitClient = c;
      c.on('error', () => {
        current = null;
        if (!this.closed) reconnect();
      });
    });
    let i = 0;
    this.tasks.push(
      (async () => {
        while (this.running) {
          const c = current;
          if (!c) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          const id = `${name}-${i++}`;
          this.record(id, 'unknown');
          await new Promise<void>((resolve) => {
            // One listener per send on the long-lived client, removed when the send is answered
            // (leaving them piled up past ten: MaxListenersExceededWarning).
            const done = () => {
              clearTimeout(timer);
              c.removeListener('error', done);
              resolve();
            };
            const timer = setTimeout(done, 10_000);
            c.once('error', done);
            try {
              const frame = c.send({ destination: this.queue, persistent: 'true', receipt: `r-${id}` }, {
                onReceipt: () => {
                  this.record(id, 'ok');
                  done();
                },
              });
              frame.on('error', done);
              frame.end(id);
            } catch {
              done();
            }
          });
        }
      })(),
    );
  }

  /** Every delivery of `id`, and what happened to its send, for a failure message. */
  explain(id: string): string {
    const t0 = this.history.deliveries[0]?.at ?? 0;
    const ds = this.history.deliveries.filter((d) => d.id === id).map((d) => `+${d.at - t0}ms ${d.messageId} via ${d.via}${d.redelivered ? ' redelivered' : ''}`);
    return `${id}: send ${this.history.sends.get(id)}; deliveries: ${ds.join(' | ')}`;
  }

  /** Acknowledged sends so far. */
  acked(): number {
    let n = 0;
    for (const o of this.history.sends.values()) if (o === 'ok') n++;
    return n;
  }

  /**
   * Stops producing, then waits until every acknowledged send was delivered (or the deadline).
   * `accountedFor` names sends that need not arrive (say, found in a quarantine file), so the wait
   * does not run to its deadline for them.
   */
  async finish(timeoutMs = 30_000, accountedFor: (id: string) => boolean = () => false): Promise<HistoryCheck> {
    this.running = false;
    await Promise.race([Promise.all(this.tasks.slice(1)), new Promise((r) => setTimeout(r, 15_000))]);
    await waitFor('every acknowledged send to be delivered', () => checkHistory(this.history).lost.every(accountedFor), timeoutMs, 100).catch(() => undefined);
    // A second copy can come after the last first one (a redelivery, a resend stored twice):
    // judge only once the consumer has had nothing for a while.
    let seen = this.history.deliveries.length;
    let quietSince = Date.now();
    await waitFor(
      'the consumer to go quiet',
      () => {
        if (this.history.deliveries.length !== seen) [seen, quietSince] = [this.history.deliveries.length, Date.now()];
        return Date.now() - quietSince >= QUIET_MS;
      },
      10_000,
      50,
    ).catch(() => undefined);
    return checkHistory(this.history);
  }

  async close(): Promise<void> {
    this.running = false;
    this.closed = true;
    try {
      // stompit's failover retries forever once every broker is gone; only abort() ends that.
      this.stompitHandle?.abort();
      this.stompitClient?.destroy();
    } catch {
      // already gone
    }
    await Promise.all(this.clients.map((c) => Promise.race([c.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))])));
  }
}
