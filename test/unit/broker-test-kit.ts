/** Shared fixtures for the broker core unit tests: an in-memory broker, a fake clock and a collecting sink. */
import type { BrokerConfig, PolicyEntry } from '../../src/config/types.js';
import { DEFAULT_VIRTUAL_TOPIC } from '../../src/config/defaults.js';
import { BrokerCore } from '../../src/broker/broker-core.js';
import type { Connection, Delivery, DeliverySink, SendRequest, SubscribeRequest } from '../../src/broker/api.js';
import type { DestinationRef } from '../../src/broker/message.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

export function testConfig(over: Partial<BrokerConfig> = {}): BrokerConfig {
  return {
    brokerName: 'test',
    dataDirectory: '/nonexistent',
    transportConnectors: [],
    persistence: { kind: 'memory' },
    policies: [] as PolicyEntry[],
    defaultRedeliveryPolicy: { maximumRedeliveries: 6, redeliveryDelayMs: 0 },
    memoryLimitBytes: 64 * 1024 * 1024,
    stomp: { maxBodyBytes: 1 << 20, maxHeaderBytes: 1 << 16, maxHeaders: 1000, frameTimeoutMs: 1000 },
    virtualTopics: [{ ...DEFAULT_VIRTUAL_TOPIC }],
    http: { host: '127.0.0.1', port: 0 },
    source: '<test>',
    ...over,
  };
}

export interface Kit {
  core: BrokerCore;
  store: MemoryStore;
  clock: ManualClock;
}

export async function openKit(over: Partial<BrokerConfig> = {}, store = new MemoryStore(), clock = new ManualClock()): Promise<Kit> {
  const core = await BrokerCore.open({ config: testConfig(over), store, clock, logger: silentLogger });
  return { core, store, clock };
}

export class Collector implements DeliverySink {
  readonly deliveries: Delivery[] = [];
  browseEnded = false;
  deliver(d: Delivery): void {
    this.deliveries.push(d);
  }
  browseEnd(): void {
    this.browseEnded = true;
  }
  bodies(): string[] {
    return this.deliveries.map((d) => d.message.body.toString());
  }
  get last(): Delivery {
    return this.deliveries[this.deliveries.length - 1];
  }
}

export const queue = (name: string): DestinationRef => ({ kind: 'queue', name });
export const topic = (name: string): DestinationRef => ({ kind: 'topic', name });

export function sendReq(destination: DestinationRef, body: string, over: Partial<SendRequest> = {}): SendRequest {
  return { destination, headers: {}, body: Buffer.from(body), bodyIsBytes: false, persistent: false, ...over };
}

export function subReq(id: string, destination: DestinationRef, over: Partial<SubscribeRequest> = {}): SubscribeRequest {
  return { id, destination, ackMode: 'client-individual', prefetch: 1000, ...over };
}

export function connectTo(core: BrokerCore, clientId?: string): Connection {
  return core.connect({ clientId, remoteAddress: '127.0.0.1:1', protocol: 'test' });
}

/** Lets queued microtasks and promise chains (dispatch, store writes) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Polls a condition with a deadline instead of sleeping and hoping. */
export async function until(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

export async function sendAll(c: Connection, dest: DestinationRef, bodies: string[], over: Partial<SendRequest> = {}): Promise<void> {
  for (const b of bodies) await c.send(sendReq(dest, b, over));
}
