import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { waitFor } from '../helpers/wait.js';
import { encodeFrame, FrameDecoder } from '../../src/ha/replication/frames.js';
import { writePromisedEpoch } from '../../src/ha/replication/promised-epoch.js';
import { addOps, captureLogger, cleanupDirs, openJournal, startMaster, startSlave } from './replication-kit.js';

after(cleanupDirs);

test('sync levels: local_* never wait for slaves; remote/quorum need replicas/2 of them and time out without', async () => {
  for (const sync of ['local_mem', 'local_disk', 'remote_mem', 'remote_disk', 'quorum_mem', 'quorum_disk']) {
    const m = await startMaster({ replicas: 3, sync, syncTimeoutMs: 300 });
    const waitsForSlaves = !sync.startsWith('local');
    const alone = m.store.write(addOps(1, 1));
    if (waitsForSlaves) await assert.rejects(alone, (e: Error & { codeName?: string }) => e.codeName === 'SYNC_TIMEOUT', sync);
    else await alone;
    const s = await startSlave({ address: m.address, epoch: 2 });
    await m.store.write(addOps(2, 1));
    const p = m.server.slaves()[0];
    if (waitsForSlaves) assert.ok((sync.endsWith('disk') ? p.synced : p.received) >= m.journal.lastPosition().position, `${sync}: the ack counted`);
    await s.client.stop();
    await m.server.stop();
    await m.journal.close();
    await s.journal.close();
  }
});

test('quorum_disk with replicas=3: one slave stopped still completes; both stopped times out with SYNC_TIMEOUT', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', syncTimeoutMs: 400 });
  const s1 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's1' });
  const s2 = await startSlave({ address: m.address, epoch: 2 }, { nodeId: 's2' });
  await m.store.open();
  await m.store.write(addOps(1, 10));
  await s1.client.stop();
  await waitFor('the master sees one slave', () => m.server.slaves().length === 1);
  await m.store.write(addOps(11, 10));
  await s2.client.stop();
  await waitFor('the master sees no slave', () => m.server.slaves().length === 0);
  const started = Date.now();
  await assert.rejects(m.store.write(addOps(21, 1)), (e: Error & { codeName?: string }) => e.codeName === 'SYNC_TIMEOUT' && /0 of 1 slave/.test(e.message));
  assert.ok(Date.now() - started >= 350, 'the wait was bounded by syncTimeoutMs, not shorter');
  await m.server.stop();
  for (const j of [m.journal, s1.journal, s2.journal]) await j.close();
});

test('each waiting send times out at its own deadline: a later send outlives an earlier one that expired', async () => {
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', syncTimeoutMs: 400 });
  const outcome = (p: Promise<void>) => p.then(() => ({ code: 'ok', at: Date.now() }), (e: Error & { codeName?: string }) => ({ code: e.codeName, at: Date.now() }));
  const firstAt = Date.now();
  const first = outcome(m.store.write(addOps(1, 1)));
  await new Promise((r) => setTimeout(r, 200));
  const secondAt = Date.now();
  let secondDone = false;
  const second = outcome(m.store.write(addOps(2, 1))).finally(() => (secondDone = true));
  const a = await first;
  assert.equal(a.code, 'SYNC_TIMEOUT');
  assert.ok(a.at - firstAt >= 380, `the first waited its syncTimeoutMs (${a.at - firstAt} ms)`);
  assert.equal(secondDone, false, 'the second send is still waiting when the first expires');
  const b = await second;
  assert.equal(b.code, 'SYNC_TIMEOUT');
  assert.ok(b.at - secondAt >= 380, `the second waited its own syncTimeoutMs (${b.at - secondAt} ms)`);
  // A slave arrives: a new send completes, so no expired wait lingers in the queue to block it.
  const s = await startSlave({ address: m.address, epoch: 2 });
  await m.store.write(addOps(3, 1));
  await s.client.stop();
  await m.server.stop();
  await m.journal.close();
  await s.journal.close();
});

test('a lower-epoch master is refused by a slave and learns it is fenced; its writes then reject with FENCED', async () => {
  const slaveJournal = await openJournal();
  writePromisedEpoch(slaveJournal.config.directory, 5);
  const m = await startMaster({ replicas: 3, sync: 'quorum_disk', epoch: 4, syncTimeoutMs: 10_000 });
  const fencedBy: number[] = [];
  m.server.onFenced((e) => fencedBy.push(e));
  const pending = m.store.write(addOps(1, 1)).then(() => null, (e: unknown) => e as Error & { codeName?: string });
  await assert.rejects(startSlave({ address: m.address, epoch: 4 }, { journal: slaveJournal }), (e: Error & { codeName?: string }) => e.codeName === 'FENCED');
  await waitFor('the master is fenced', () => fencedBy.length > 0);
  assert.deepEqual(fencedBy, [5]);
  // The write that was waiting is answered at once, not after syncTimeoutMs.
  assert.equal((await pending)?.codeName, 'FENCED');
  await assert.rejects(m.store.write(addOps(2, 1)), (e: Error & { codeName?: string }) => e.codeName === 'FENCED');
  assert.equal(slaveJournal.lastPosition().position, 0, 'the slave took nothing from the stale master');
  await m.server.stop();
  await m.journal.close();
  await slaveJournal.close();
});

test('a wrong securityToken is refused, and both sides log why', async () => {
  const masterLog = captureLogger();
  const slaveLog = captureLogger();
  const m = await startMaster({ securityToken: 'right', logger: masterLog });
  await assert.rejects(startSlave({ address: m.address, epoch: 2 }, { securityToken: 'wrong', logger: slaveLog, nodeId: 'intruder' }), /refused replication: invalid securityToken/);
  assert.ok(masterLog.lines.some((l) => l.level === 'error' && /refused: slave intruder .* invalid securityToken/.test(l.msg)), JSON.stringify(masterLog.lines));
  assert.ok(slaveLog.lines.some((l) => l.level === 'error' && /refused by the master: invalid securityToken/.test(l.msg)), JSON.stringify(slaveLog.lines));
  const ok = await startSlave({ address: m.address, epoch: 2 }, { securityToken: 'right' });
  await ok.client.stop();
  await m.server.stop();
  await m.journal.close();
  await ok.journal.close();
});

test('a slave that stops reading does not grow the master\'s buffers: at most maxInFlightBytes are outstanding', async () => {
  const maxInFlightBytes = 256 * 1024;
  const frameBytes = 64 * 1024;
  const m = await startMaster({ replicas: 3, sync: 'local_disk', maxInFlightBytes, frameBytes });
  // A raw slave: logs in with an empty log, says ready, then never reads or acknowledges.
  const sock = net.connect({ host: '127.0.0.1', port: Number(m.address.split(':').pop()) });
  await new Promise((r) => sock.once('connect', r));
  const dec = new FrameDecoder(64 * 1024 * 1024);
  const seen: string[] = [];
  sock.on('data', (c: Buffer) => {
    for (const f of dec.push(c)) {
      seen.push(f.header.t);
      if (f.header.t === 'stream-from') {
        sock.write(encodeFrame({ t: 'ready', end: 0 }));
        sock.pause();
      }
    }
  });
  sock.write(encodeFrame({ t: 'login', nodeId: 'slow', securityToken: '', promisedEpoch: 0, log: { first: 0, end: 0, epochs: [] } }));
  await waitFor('the slow slave streams', () => m.server.slaves().some((s) => s.received === 0 && seen.includes('stream-from')));
  let maxBuffered = 0;
  let maxInFlight = 0;
  const totalBytes = 8 * 1024 * 1024;
  const perMessage = 4096;
  for (let i = 1; i * perMessage <= totalBytes; i += 64) {
    await m.store.write(addOps(i, 64, perMessage));
    maxBuffered = Math.max(maxBuffered, m.server.bufferedBytes());
    const p = m.server.slaves()[0];
    maxInFlight = Math.max(maxInFlight, p?.inFlightBytes ?? 0);
  }
  await waitFor('the pump reaches the window', () => (m.server.slaves()[0]?.inFlightBytes ?? 0) >= maxInFlightBytes);
  maxBuffered = Math.max(maxBuffered, m.server.bufferedBytes());
  const bound = maxInFlightBytes + frameBytes + perMessage + 1024;
  assert.ok(m.journal.lastPosition().position > 6 * 1024 * 1024, 'the master wrote far more than the window');
  assert.ok(maxInFlight <= bound, `in flight ${maxInFlight} > ${bound}`);
  assert.ok(maxBuffered <= bound, `buffered ${maxBuffered} > ${bound}`);
  sock.destroy();
  await m.server.stop();
  await m.journal.close();
});
