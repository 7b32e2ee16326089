import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupTemp, startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { header, RawStomp } from '../helpers/raw-stomp.js';
import { waitFor } from '../helpers/wait.js';

// Raw sockets rather than the project's client, so this test depends only on the broker and
// the wire protocol (STOMP 1.2 SEND with `receipt`, RECEIPT, MESSAGE).

const PRODUCERS = 8;
const WINDOW = 8;
const QUEUE = '/queue/crash.test';

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.kill();
  cleanupTemp();
});

/** Sends persistent messages with a receipt each, WINDOW at a time, until stopped or cut off. */
async function produce(port: number, p: number, receipted: Set<string>, stop: () => boolean): Promise<void> {
  const c = await RawStomp.connect(port);
  await c.handshake();
  let n = 0;
  let inFlight = 0;
  while (!c.closed && !stop()) {
    while (inFlight < WINDOW) {
      const id = `p${p}-${++n}`;
      c.write(`SEND\ndestination:${QUEUE}\npersistent:true\nreceipt:${id}\nx-id:${id}\n\n${id}\0`);
      inFlight++;
    }
    await waitFor('a receipt', () => c.closed || stop() || c.frames.some((f) => f.command === 'RECEIPT'), 10_000, 2);
    for (const f of c.frames.splice(0)) {
      if (f.command === 'RECEIPT') {
        receipted.add(header(f, 'receipt-id')!);
        inFlight--;
      }
    }
  }
  c.close();
}

describe('journal store through a real broker killed with SIGKILL', () => {
  it('delivers every receipted persistent message exactly once after the restart', async () => {
    const first = await startBroker();
    brokers.push(first);
    const receipted = new Set<string>();
    let killed = false;
    const producers = Array.from({ length: PRODUCERS }, (_, p) => produce(first.stompPort, p, receipted, () => killed));
    // Kill in the middle of the run, with every producer's window in flight.
    await waitFor('400 receipts', () => receipted.size >= 400, 30_000);
    await first.kill();
    killed = true;
    await Promise.all(producers);
    const receiptedAtKill = new Set(receipted);

    const second = await startBroker({ dataDir: first.dataDir });
    brokers.push(second);
    const c = await RawStomp.connect(second.stompPort);
    await c.handshake();
    // A marker sent after the restart arrives after everything recovered (one FIFO queue).
    c.write(`SEND\ndestination:${QUEUE}\npersistent:true\nreceipt:marker\nx-id:marker\n\nmarker\0`);
    await c.waitFrame('RECEIPT');
    c.write(`SUBSCRIBE\nid:s1\ndestination:${QUEUE}\nack:auto\n\n\0`);
    const delivered: string[] = [];
    await waitFor(
      'the marker behind the recovered messages',
      () => {
        for (const f of c.frames.splice(0)) if (f.command === 'MESSAGE') delivered.push(header(f, 'x-id')!);
        return delivered.includes('marker');
      },
      30_000,
    );
    c.close();

    const counts = new Map<string, number>();
    for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, k]) => k > 1).map(([id]) => id);
    assert.deepEqual(twice, [], 'no message is delivered twice');
    const lost = [...receiptedAtKill].filter((id) => !counts.has(id));
    assert.deepEqual(lost, [], `every receipted message survives the crash (${receiptedAtKill.size} receipted, ${delivered.length - 1} recovered)`);
    await second.stop();
  });
});
