/**
 * A connection the client gave up on (no heart-beat: the broker was frozen) is half-closed, not
 * gone: when the broker wakes it can still write frames into it. Scenario 7 saw a woken ex-master
 * deliver a message there that the new master had already delivered (flagged); the client passed
 * it on as a new, unflagged delivery. Frames from a session the client has left must be dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientTransport, type TransportFactory } from '../../src/client/index.js';
import { encodeFrame } from '../../src/protocol/stomp/encoder.js';
import { headersToRecord } from '../../src/protocol/stomp/frame.js';
import { StompParser } from '../../src/protocol/stomp/parser.js';
import { ManualClock } from '../../src/util/clock.js';

/** A broker end that, like a TCP peer after our FIN, can still send after the client closed. */
class HalfOpenPeer {
  readonly received: Array<{ command: string; headers: Record<string, string> }> = [];
  clientClosed = false;
  private dataFns: Array<(b: Buffer) => void> = [];

  constructor(readonly port: number, heartBeat: string) {
    this.heartBeat = heartBeat;
  }
  private readonly heartBeat: string;

  send(command: string, headers: Record<string, string>, body = ''): void {
    const buf = encodeFrame({ command, headers, body: Buffer.from(body) }, '1.2');
    queueMicrotask(() => this.dataFns.forEach((f) => f(buf)));
  }

  transport(): ClientTransport {
    const parser = new StompParser({
      limits: { maxBodyBytes: 1 << 20, maxHeaderBytes: 1 << 16, maxHeaders: 100 },
      side: 'server',
      onFrame: (f) => {
        const headers = headersToRecord(f);
        this.received.push({ command: f.command, headers });
        if (f.command === 'CONNECT') {
          parser.version = '1.2';
          this.send('CONNECTED', { version: '1.2', server: 'QuorumMQ/test', 'heart-beat': this.heartBeat });
        } else if (headers.receipt !== undefined) {
          this.send('RECEIPT', { 'receipt-id': headers.receipt });
        }
      },
    });
    return {
      write: (d) => {
        if (!this.clientClosed) parser.push(d);
      },
      close: () => {
        this.clientClosed = true;
      },
      onData: (fn) => this.dataFns.push(fn),
      onClose: () => undefined,
    };
  }
}

async function turn(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    clock.advance(50);
  }
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

test('a message written into a connection the client already gave up on is not delivered', async () => {
  const clock = new ManualClock(0);
  const peers: HalfOpenPeer[] = [];
  const factory: TransportFactory = async (addr) => {
    // The first broker promises heart-beats and then falls silent (SIGSTOP): new connections to
    // it get nowhere. The second keeps quiet by agreement.
    if (addr.port === 1 && peers.length > 0) throw new Error('ECONNREFUSED 1');
    const peer = new HalfOpenPeer(addr.port, addr.port === 1 ? '1000,1000' : '0,0');
    peers.push(peer);
    return peer.transport();
  };
  const clientP = connect('failover:(tcp://h:1,tcp://h:2)?randomize=false&initialReconnectDelay=10', { clock, transportFactory: factory, heartbeatMs: 1000 });
  await turn(clock, 100);
  const client = await clientP;
  const subP = client.subscribe('/queue/q', { ack: 'client-individual' });
  await turn(clock, 100);
  const sub = await subP;
  const first = peers[0];
  const subId = first.received.find((f) => f.command === 'SUBSCRIBE')!.headers.id;

  // Broker 1 is silent past the heart-beat grace, so the client moves to 2.
  await turn(clock, 3000);
  assert.equal(client.connectedAddress, 'tcp://h:2', 'failed over to the second broker');
  const second = peers.find((p) => p.port === 2)!;
  assert.ok(second.received.some((f) => f.command === 'SUBSCRIBE'), 'the subscription was restored on the second broker');

  // Broker 1 wakes and writes into the connection the client left.
  first.send('MESSAGE', { subscription: subId, 'message-id': 'ID:old:1', destination: '/queue/q', ack: 'old-1' }, 'from the woken ex-master');
  second.send('MESSAGE', { subscription: subId, 'message-id': 'ID:new:1', destination: '/queue/q', ack: 'new-1', redelivered: 'true' }, 'from the new master');
  await turn(clock, 100);
  const got = await sub.next(0);
  assert.equal(got?.text(), 'from the new master');
  assert.equal(await sub.next(0), undefined, 'nothing from the abandoned connection');
  await client.close().catch(() => undefined);
});
