import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from '../../src/node/broker.js';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { connect } from '../../src/client/index.js';
import { RawStomp, header } from '../helpers/raw-stomp.js';
import { cleanupTemp, tempDir } from '../helpers/broker-process.js';

let broker: Broker;
let port: number;

before(async () => {
  const dataDirectory = tempDir();
  const base = defaultConfig({ dataDirectory });
  broker = await Broker.start(
    {
      ...base,
      transportConnectors: base.transportConnectors.filter((c) => c.scheme === 'stomp').map((c) => ({ ...c, port: 0 })),
      http: { host: '127.0.0.1', port: 0 },
      stomp: { ...base.stomp, maxBodyBytes: 64 * 1024, maxHeaders: 100, maxHeaderBytes: 8 * 1024, frameTimeoutMs: 300 },
    },
    { logger: silentLogger },
  );
  port = broker.connector('stomp')!.port;
  // Something stored before the bad input starts: it must survive all of it.
  const c = await connect(`tcp://127.0.0.1:${port}`);
  await c.send('/queue/precious', 'keep me', { persistent: 'true' });
  await c.close();
});

after(async () => {
  // Nothing already stored was lost, and the broker still serves a well-behaved client.
  const c = await connect(`tcp://127.0.0.1:${port}`);
  const sub = await c.subscribe('/queue/precious', { ack: 'client-individual' });
  const m = await sub.next(5000);
  assert.equal(m?.text(), 'keep me');
  await m!.ack();
  await c.close();
  await broker.stop();
  cleanupTemp();
});

/** Connects a raw client, sends `bytes`, and expects an ERROR whose message matches. */
async function expectFatal(bytes: string | Buffer, message: RegExp, handshake = true): Promise<void> {
  const raw = await RawStomp.connect(port);
  try {
    if (handshake) await raw.handshake();
    raw.write(bytes);
    const err = await raw.waitFrame('ERROR');
    assert.match(header(err, 'message') ?? '', message);
    await raw.waitClosed();
  } finally {
    raw.close();
  }
}

describe('bad input gets a clear ERROR and harms nobody else', () => {
  test('a malformed frame (content-length body not followed by NUL)', async () => {
    await expectFatal('SEND\ndestination:/queue/x\ncontent-length:3\n\nabcdef\0', /NUL|null|terminat/i);
  });

  test('an unknown command', async () => {
    await expectFatal('FROB\n\n\0', /FROB/);
  });

  test('a header line with no colon', async () => {
    await expectFatal('SEND\ndestination:/queue/x\nnocolonhere\n\nbody\0', /colon|nocolonhere/i);
  });

  test('a bad escape sequence (STOMP 1.2 defines only \\r \\n \\c \\\\)', async () => {
    await expectFatal('SEND\ndestination:/queue/x\nbad:a\\tb\n\nbody\0', /escape/i);
  });

  test('a body over the size limit is refused from its content-length', async () => {
    await expectFatal(`SEND\ndestination:/queue/x\ncontent-length:${10 * 1024 * 1024}\n\n`, /limit|large/i);
  });

  test('a body over the size limit without content-length', async () => {
    await expectFatal(`SEND\ndestination:/queue/x\n\n${'x'.repeat(128 * 1024)}`, /limit|large/i);
  });

  test('a huge header', async () => {
    await expectFatal(`SEND\ndestination:/queue/x\nbig:${'y'.repeat(20 * 1024)}\n\n\0`, /limit|large/i);
  });

  test('thousands of headers', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `h${i}:v`).join('\n');
    await expectFatal(`SEND\ndestination:/queue/x\n${many}\n\nbody\0`, /headers/i);
  });

  test('a client that sends half a frame and stalls is closed after the frame timeout', async () => {
    await expectFatal('SEND\ndestination:/queue/x\n', /within|incomplete|timeout/i);
  });

  test('a frame before CONNECT', async () => {
    await expectFatal('SEND\ndestination:/queue/x\n\nhi\0', /CONNECT/, false);
  });

  test('an unsupported protocol version', async () => {
    await expectFatal('CONNECT\naccept-version:2.0\nhost:x\n\n\0', /version/i, false);
  });

  test('a malformed heart-beat header is fatal (as in ActiveMQ)', async () => {
    await expectFatal('CONNECT\naccept-version:1.2\nhost:x\nheart-beat:fast\n\n\0', /heart-beat/i, false);
  });
});

describe('errors a connection survives (ActiveMQ keeps the connection open)', () => {
  async function expectNonFatal(frame: string, message: RegExp): Promise<void> {
    const raw = await RawStomp.connect(port);
    try {
      await raw.handshake();
      raw.write(frame);
      const err = await raw.waitFrame('ERROR');
      assert.match(header(err, 'message') ?? '', message);
      assert.equal(header(err, 'receipt-id'), 'bad-1', 'ERROR carries the receipt-id of the failing frame');
      // Still usable: a later frame gets its receipt.
      raw.write('SEND\ndestination:/queue/nonfatal\nreceipt:ok-1\n\nstill here\0');
      const r = await raw.waitFrame('RECEIPT');
      assert.equal(header(r, 'receipt-id'), 'ok-1');
      assert.equal(raw.closed, false);
    } finally {
      raw.close();
    }
  }

  test('an ACK for an unknown message', async () => {
    await expectNonFatal('ACK\nid:no-such-ack\nreceipt:bad-1\n\n\0', /no-such-ack|unacknowledged|unknown/i);
  });

  test('a COMMIT of an unknown transaction', async () => {
    await expectNonFatal('COMMIT\ntransaction:tx-nope\nreceipt:bad-1\n\n\0', /tx-nope/);
  });

  test('a SUBSCRIBE with a bad selector names the problem', async () => {
    await expectNonFatal('SUBSCRIBE\nid:s1\ndestination:/queue/sel\nselector:price >\nreceipt:bad-1\n\n\0', /selector/i);
  });

  test('a SEND with no destination', async () => {
    await expectNonFatal('SEND\nreceipt:bad-1\n\nno dest\0', /destination/);
  });

  test('a SEND to a destination with no name after its prefix', async () => {
    await expectNonFatal('SEND\ndestination:/queue/\nreceipt:bad-1\n\nx\0', /no name after "\/queue\/"/);
  });

  test('an invalid priority header', async () => {
    await expectNonFatal('SEND\ndestination:/queue/p\npriority:high\nreceipt:bad-1\n\nx\0', /priority/);
  });
});
