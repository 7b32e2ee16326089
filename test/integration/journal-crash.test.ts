import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { silentLogger } from '../../src/util/logger.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-journal-crash-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const storeModule = pathToFileURL(path.resolve('src/store/journal/journal-store.ts')).href;
const loggerModule = pathToFileURL(path.resolve('src/util/logger.ts')).href;

/** The child: 16 writers add messages (and ack every third) and print each acknowledged op. */
const childScript = `
import { JournalStore } from ${JSON.stringify(storeModule)};
import { silentLogger } from ${JSON.stringify(loggerModule)};
const dir = process.argv[2];
const store = new JournalStore({ kind: 'journal', flavour: 'default', directory: dir, journalMaxFileLengthBytes: 256 * 1024, checkpointIntervalMs: 50, enableJournalDiskSyncs: true }, silentLogger, { flushEntries: 500 });
await store.open();
const writers = 16;
async function writer(k) {
  const queue = 'queue://w' + k;
  for (let seq = 1; ; seq++) {
    const message = { id: 'ID:' + k + ':' + seq, destination: { kind: 'queue', name: 'w' + k }, headers: { seq: String(seq) }, body: Buffer.alloc(300 + (seq % 700), seq % 256), bodyIsBytes: true, persistent: true, priority: 4, expires: 0, timestamp: Date.now(), redeliveryCount: 0 };
    await store.write([{ type: 'add', queue, seq, message }]);
    process.stdout.write('a ' + k + ' ' + seq + '\\n');
    if (seq % 3 === 0) {
      await store.write([{ type: 'remove', queue, seq }]);
      process.stdout.write('r ' + k + ' ' + seq + '\\n');
    }
  }
}
for (let k = 0; k < writers; k++) void writer(k);
`;

async function runAndKill(dir: string, script: string, minAcks: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (out.split('\n').length < minAcks) {
    if (child.exitCode !== null) throw new Error(`the writer exited early: ${err}`);
    if (Date.now() > deadline) throw new Error(`only ${out.split('\n').length} acks before the deadline: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const lines = out.split('\n');
  lines.pop(); // a line cut by the kill is not an acknowledgement
  return lines;
}

describe('journal crash safety (real process, kill -9)', () => {
  it('keeps every acknowledged write exactly once, across repeated crashes', async () => {
    const dir = path.join(root, 'store');
    const script = path.join(root, 'writer.mts');
    fs.writeFileSync(script, childScript);
    const added = new Map<string, Set<number>>();
    const removed = new Map<string, Set<number>>();
    for (let round = 0; round < 2; round++) {
      // A second round starts after recovery; writers restart at seq 1 in new queues.
      const lines = await runAndKill(dir, script, 1500);
      for (const line of lines) {
        const [kind, k, seq] = line.split(' ');
        const queue = `queue://w${k}:r${round}`;
        const m = kind === 'a' ? added : removed;
        if (!m.has(queue)) m.set(queue, new Set());
        m.get(queue)!.add(Number(seq));
      }
      const store = new JournalStore(
        { kind: 'journal', flavour: 'default', directory: dir, journalMaxFileLengthBytes: 256 * 1024, checkpointIntervalMs: 0, enableJournalDiskSyncs: true },
        silentLogger,
      );
      await store.open();
      for (let k = 0; k < 16; k++) {
        const key = `queue://w${k}:r${round}`;
        const got = await store.read(`queue://w${k}`, 0, 1_000_000);
        const seqs = got.map((m) => m.seq);
        assert.equal(new Set(seqs).size, seqs.length, `duplicates in ${key}`);
        for (const m of got) assert.equal(m.message.headers.seq, String(m.seq));
        const present = new Set(seqs);
        const adds = added.get(key) ?? new Set<number>();
        // The writer's last acknowledged add may have had its remove in flight at the kill: that
        // remove was never acknowledged, so it may or may not have taken effect.
        const lastAdd = Math.max(0, ...adds);
        for (const s of adds) {
          if (removed.get(key)?.has(s)) assert.ok(!present.has(s), `${key}#${s} was acked (removed) but came back`);
          else if (!(s === lastAdd && s % 3 === 0)) assert.ok(present.has(s), `${key}#${s} was acknowledged but is missing`);
        }
        // Clear the queue so the next round's writers start from seq 1 again.
        await store.write([{ type: 'destination-remove', destination: { kind: 'queue', name: `w${k}` } }]);
      }
      await store.close();
    }
  });
});
