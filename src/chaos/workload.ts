/**
 * The chaos workload: producers and consumers through the `failover:` client, one queue per
 * consumer ack mode (auto, client, client-individual, and client-individual acked inside
 * transactions) and a durable topic subscription, with plain and transactional producers.
 * Every operation goes into the history; message bodies carry a unique id and a checksum.
 */
import { connect, type AckMode, type ClientSubscription, type ReceivedMessage, type StompClient } from '../client/index.js';
import { decodeBody, encodeBody } from './body.js';
import { classifyError } from './outcome.js';
import type { HistoryRecorder } from './recorder.js';
import type { Rng } from './rng.js';

export interface WorkloadOptions {
  /** A `failover:` URL listing every broker. */
  url: string;
  /** Names destinations and ids, so runs never collide. */
  runId: string;
  producers: number;
  recorder: HistoryRecorder;
  rng: Rng;
  /** Client operation timeout: longer than the slowest expected failover. */
  clientTimeoutMs: number;
  /** Pause between a producer's operations, to keep 2 shared cores breathing. */
  producerPauseMs?: number;
  /** Extra body bytes per message. */
  paddingBytes?: number;
  /** Extra consumer-side failover URL options (tests point consumers past a proxy). */
  consumerUrl?: string;
  log?: (line: string) => void;
}

interface ConsumerSpec {
  name: string;
  destination: string;
  ack: AckMode;
  /** Acks grouped in transactions of up to 3. */
  transacted: boolean;
  durableName?: string;
}

export interface ConsumerQueues {
  /** Queues whose consumer acks automatically: at most once for frames in flight when a connection dies. */
  atMostOnce: string[];
  all: string[];
}

export class Workload {
  readonly queues: Record<'auto' | 'client' | 'individual' | 'tx', string>;
  readonly topic: string;
  readonly durableSubscription: string;
  private readonly clients: StompClient[] = [];
  private producing = true;
  private consuming = true;
  private producerLoops: Promise<void>[] = [];
  private consumerLoops: Promise<void>[] = [];
  private nextId = 0;
  /** Ids whose send (or commit) was acknowledged, per receiver, not yet delivered. */
  private readonly awaiting = new Map<string, Set<string>>();
  /** `receiver\0id` of everything delivered: a delivery can beat its own receipt to the producer. */
  private readonly delivered = new Set<string>();
  private lastReceiveMs = Date.now();

  constructor(private readonly opts: WorkloadOptions) {
    const base = `/queue/chaos-${opts.runId}`;
    this.queues = { auto: `${base}-auto`, client: `${base}-client`, individual: `${base}-individual`, tx: `${base}-tx` };
    this.topic = `/topic/chaos-${opts.runId}`;
    this.durableSubscription = `chaos-${opts.runId}-durable`;
  }

  get consumerQueues(): ConsumerQueues {
    return { atMostOnce: [this.queues.auto], all: Object.values(this.queues) };
  }

  /** Connects the consumers (the durable subscription first), then starts the producers. */
  async start(): Promise<void> {
    const specs: ConsumerSpec[] = [
      { name: 'c-auto', destination: this.queues.auto, ack: 'auto', transacted: false },
      { name: 'c-client', destination: this.queues.client, ack: 'client', transacted: false },
      { name: 'c-individual', destination: this.queues.individual, ack: 'client-individual', transacted: false },
      { name: 'c-tx', destination: this.queues.tx, ack: 'client-individual', transacted: true },
      { name: 'c-durable', destination: this.topic, ack: 'client-individual', transacted: false, durableName: this.durableSubscription },
    ];
    for (const spec of specs) {
      const client = await this.connect(this.opts.consumerUrl ?? this.opts.url, spec.durableName ? `chaos-${this.opts.runId}-${spec.name}` : undefined);
      const { value: sub } = await this.opts.recorder.time(
        spec.durableName ? { op: 'subscribe', destination: spec.destination, subscription: spec.durableName, process: spec.name } : { op: 'subscribe', destination: spec.destination, subscription: spec.destination, process: spec.name },
        () => client.subscribe(spec.destination, { ack: spec.ack, prefetch: 20, durableName: spec.durableName }),
        classifyError,
      );
      if (!sub) throw new Error(`consumer ${spec.name} could not subscribe to ${spec.destination}`);
      this.consumerLoops.push(this.consume(spec, client, sub));
    }
    const destinations = [...Object.values(this.queues), this.topic];
    for (let i = 0; i < this.opts.producers; i++) {
      const client = await this.connect(this.opts.url);
      // Every other producer sends in transactions; each producer cycles through every destination.
      this.producerLoops.push(this.produce(`p${i}`, client, i % 2 === 1, destinations, i));
    }
  }

  private async connect(url: string, clientId?: string): Promise<StompClient> {
    const client = await connect(url, { timeoutMs: this.opts.clientTimeoutMs, heartbeatMs: 2000, ...(clientId ? { clientId } : {}) });
    client.on('disconnected', (e) => this.opts.log?.(`client lost ${e.address}: ${e.error.message}`));
    this.clients.push(client);
    return client;
  }

  private newId(producer: string): string {
    return `${this.opts.runId}-${producer}-${this.nextId++}`;
  }

  private expect(destination: string, id: string): void {
    const receiver = destination === this.topic ? this.durableSubscription : destination;
    if (this.delivered.has(`${receiver}\u0000${id}`)) return;
    let set = this.awaiting.get(receiver);
    if (!set) this.awaiting.set(receiver, (set = new Set()));
    set.add(id);
  }

  private async produce(name: string, client: StompClient, transacted: boolean, destinations: string[], offset: number): Promise<void> {
    const rec = this.opts.recorder;
    const pad = this.opts.paddingBytes ?? 64;
    let turn = offset;
    while (this.producing) {
      const destination = destinations[turn++ % destinations.length]!;
      if (!transacted) {
        const id = this.newId(name);
        const r = await rec.time({ op: 'send', id, destination, process: name }, () => client.send(destination, encodeBody(id, pad), { persistent: 'true' }), classifyError);
        if (r.outcome === 'ok') this.expect(destination, id);
      } else {
        // `begin` is not in the history: a transaction that never began has no sends.
        const tx = await client.begin().catch(() => undefined);
        if (tx === undefined) {
          await pause(100);
          continue;
        }
        const ids: Array<[string, string]> = [];
        const count = 1 + this.opts.rng.int(3);
        for (let k = 0; k < count; k++) {
          const id = this.newId(name);
          await rec.time({ op: 'send', id, destination, tx, process: name }, () => client.send(destination, encodeBody(id, pad), { persistent: 'true', transaction: tx }), classifyError);
          ids.push([destination, id]);
        }
        // One transaction in ten is aborted: its messages must never arrive.
        const abort = this.opts.rng.int(10) === 0;
        const r = await rec.time({ op: abort ? 'abort' : 'commit', tx, process: name }, () => (abort ? client.abort(tx) : client.commit(tx)), classifyError);
        if (!abort && r.outcome === 'ok') for (const [d, id] of ids) this.expect(d, id);
      }
      if (this.opts.producerPauseMs) await pause(this.opts.producerPauseMs);
    }
  }

  private async consume(spec: ConsumerSpec, client: StompClient, sub: ClientSubscription): Promise<void> {
    const rec = this.opts.recorder;
    let tx: string | undefined;
    let inTx = 0;
    const finishTx = async () => {
      if (tx === undefined) return;
      const id = tx;
      tx = undefined;
      inTx = 0;
      await client.commit(id).catch(() => undefined);
    };
    while (this.consuming) {
      const m: ReceivedMessage | undefined = await sub.next(200);
      if (!m) {
        await finishTx();
        if (sub.error) {
          this.opts.log?.(`consumer ${spec.name} ended: ${sub.error.message}`);
          return;
        }
        continue;
      }
      const nowMs = Date.now();
      this.lastReceiveMs = nowMs;
      const { id, corrupt } = decodeBody(m.body);
      rec.add({
        op: 'receive',
        id,
        destination: spec.destination,
        ...(spec.durableName ? { subscription: spec.durableName } : {}),
        redelivered: m.redelivered,
        ...(corrupt ? { corrupt } : {}),
        invokeMs: nowMs,
        completeMs: nowMs,
        outcome: 'ok',
        process: spec.name,
      });
      const receiver = spec.durableName ?? spec.destination;
      this.delivered.add(`${receiver}\u0000${id}`);
      this.awaiting.get(receiver)?.delete(id);
      try {
        if (spec.ack === 'auto') continue;
        if (spec.transacted) {
          tx ??= await client.begin();
          await m.ack(tx);
          if (++inTx >= 3) await finishTx();
        } else await m.ack();
      } catch (e) {
        // A lost ack only means a redelivery; the history records what the application saw.
        this.opts.log?.(`consumer ${spec.name} ack failed: ${(e as Error).message}`);
        tx = undefined;
        inTx = 0;
      }
    }
    await finishTx();
  }

  /** Stops the producers after their current operation; resolves when all have stopped. */
  async stopProducing(): Promise<void> {
    this.producing = false;
    await Promise.all(this.producerLoops);
  }

  /** Acknowledged messages not delivered yet. */
  outstanding(): number {
    let n = 0;
    for (const s of this.awaiting.values()) n += s.size;
    return n;
  }

  /**
   * Lets the consumers run until every acknowledged message arrived and nothing arrived for
   * `quietMs` (late duplicates show up in that window), or until `timeoutMs` passes.
   */
  async drain(quietMs: number, timeoutMs: number): Promise<{ outstanding: number }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.outstanding() === 0 && Date.now() - this.lastReceiveMs >= quietMs) break;
      await pause(50);
    }
    return { outstanding: this.outstanding() };
  }

  async close(): Promise<void> {
    this.producing = false;
    this.consuming = false;
    await Promise.all([...this.producerLoops, ...this.consumerLoops]);
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
