import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker-process.js';
import { header, RawStomp } from '../helpers/raw-stomp.js';
import { waitFor } from '../helpers/wait.js';

const QUEUE = '/queue/full.test';
const BODY = 'x'.repeat(16 * 1024);

const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-disk-full-'));
let mounted = false;
let mountError = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir], { stdio: 'pipe' });
  mounted = true;
} catch (e) {
  mountError = String((e as { stderr?: Buffer }).stderr ?? e).trim();
}

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.kill();
  if (mounted) execFileSync('umount', [mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

/** Sends one persistent message and returns the RECEIPT or ERROR that answers it. */
async function send(c: RawStomp, id: string): Promise<'ok' | string> {
  c.write(`SEND\ndestination:${QUEUE}\npersistent:true\nreceipt:${id}\nx-id:${id}\n\n${BODY}\0`);
  const f = await waitFor('a RECEIPT or ERROR', () => c.frames.find((x) => x.command === 'RECEIPT' || x.command === 'ERROR'), 10_000, 2);
  c.frames.splice(c.frames.indexOf(f), 1);
  return f.command === 'RECEIPT' ? 'ok' : `${header(f, 'message')}\n${f.body.toString()}`;
}

describe('journal store on a full disk (8 MiB tmpfs)', () => {
  it('refuses sends with STORE_FULL, keeps serving consumers and loses nothing stored', async (t) => {
    if (!mounted) {
      t.skip(`cannot mount a tmpfs here (${mountError}); run as root to test a full disk`);
      return;
    }
    const dataDir = path.join(mountDir, 'data');
    fs.mkdirSync(dataDir);
    const broker = await startBroker({ dataDir });
    brokers.push(broker);
    const producer = await RawStomp.connect(broker.stompPort);
    await producer.handshake();
    const stored: string[] = [];
    let error = '';
    for (let i = 0; i < 2000 && !error; i++) {
      const r = await send(producer, `m${i}`);
      if (r === 'ok') stored.push(`m${i}`);
      else error = r;
    }
    assert.ok(error, 'the disk filled up without an ERROR frame');
    assert.match(error, /STORE_FULL|QMQ-3004/);
    assert.match(error, /disk is full/i);
    assert.ok(stored.length > 100, `only ${stored.length} messages fit before the error`);
    producer.close();

    // The broker still serves consumers: they receive and acknowledge messages.
    const consumer = await RawStomp.connect(broker.stompPort);
    await consumer.handshake();
    consumer.write(`SUBSCRIBE\nid:s1\ndestination:${QUEUE}\nack:client-individual\nactivemq.prefetchSize:10\n\n\0`);
    const acked: string[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await consumer.waitFrame('MESSAGE');
      acked.push(header(m, 'x-id')!);
      consumer.write(`ACK\nid:${header(m, 'ack')}\nreceipt:a${i}\n\n\0`);
      await consumer.waitFrame('RECEIPT');
    }
    assert.deepEqual(acked, stored.slice(0, 10));
    consumer.close();
    await broker.stop();

    // Restart: every stored and unacknowledged message is still there.
    const again = await startBroker({ dataDir });
    brokers.push(again);
    const c = await RawStomp.connect(again.stompPort);
    await c.handshake();
    c.write(`SUBSCRIBE\nid:s1\ndestination:${QUEUE}\nack:auto\n\n\0`);
    const want = stored.slice(10);
    const got: string[] = [];
    await waitFor(`${want.length} messages after the restart`, () => {
      for (const f of c.frames.splice(0)) if (f.command === 'MESSAGE') got.push(header(f, 'x-id')!);
      return got.length >= want.length;
    }, 30_000);
    assert.deepEqual(got, want);
    c.close();
    await again.stop();
  });
});
