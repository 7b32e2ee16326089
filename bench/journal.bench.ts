/**
 * Micro-benchmark of JournalStore.write with 1 KiB 'add' ops, next to a bare fdatasync loop
 * measured in the same run on the same disk (issue 3 compares the store with that physical
 * limit). Prints one JSON line per scenario.
 *
 *   node --import tsx bench/journal.bench.ts            (BENCH_MS=3000 for longer runs,
 *                                                       BENCH_DIR=/some/disk to pick the disk)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Message } from '../src/broker/message.js';
import { JournalStore } from '../src/store/journal/journal-store.js';
import { silentLogger } from '../src/util/logger.js';

const BODY_BYTES = 1024;
const RUN_MS = Number(process.env.BENCH_MS ?? 1500);
const PIPELINE_DEPTH = 64;
const SEGMENT_BYTES = 64 * 1024 * 1024;
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'qmq-journal-bench-'));
const body = Buffer.alloc(BODY_BYTES, 0x61);

function message(seq: number): Message {
  return {
    id: `ID:bench-1:1:1:${seq}`,
    destination: { kind: 'queue', name: 'bench.orders' },
    headers: { 'content-type': 'text/plain' },
    body,
    bodyIsBytes: false,
    persistent: true,
    priority: 4,
    expires: 0,
    timestamp: Date.now(),
    redeliveryCount: 0,
  };
}

/**
 * The ceiling: one 1 KiB record written in place into a preallocated file and fdatasynced,
 * from a synchronous loop (the fastest technique in issue 3's table).
 */
let bareFd: number | null = null;
const BARE_FILE_BYTES = 64 * 1024 * 1024;

/** The bare loop's file: zero-filled for real (not a sparse hole), as the journal preallocates. */
function bareFile(): number {
  if (bareFd !== null) return bareFd;
  const fd = fs.openSync(path.join(root, 'bare.dat'), 'w+');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let off = 0; off < BARE_FILE_BYTES; off += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, off);
  fs.fdatasyncSync(fd);
  bareFd = fd;
  return fd;
}

/**
 * The ceiling: one 1 KiB record written in place into a preallocated file and fdatasynced,
 * from a synchronous loop (the fastest technique in issue 3's table).
 */
function bareFdatasyncLoop(): { opsPerSec: number; syncUs: number } {
  const fd = bareFile();
  const record = Buffer.alloc(BODY_BYTES + 128, 0x62);
  let n = 0;
  let pos = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + RUN_MS;
  while (Date.now() < deadline) {
    fs.writeSync(fd, record, 0, record.length, pos);
    fs.fdatasyncSync(fd);
    pos = (pos + record.length) % (BARE_FILE_BYTES - record.length);
    n++;
  }
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: n / elapsedS, syncUs: (elapsedS / n) * 1e6 };
}

async function openStore(name: string, syncs: boolean): Promise<JournalStore> {
  const store = new JournalStore(
    { kind: 'journal', flavour: 'default', directory: path.join(root, name), journalMaxFileLengthBytes: SEGMENT_BYTES, checkpointIntervalMs: 0, enableJournalDiskSyncs: syncs },
    silentLogger,
  );
  await store.open();
  // Let the first preallocated segment finish, so the run measures steady state.
  await new Promise((r) => setTimeout(r, Number(process.env.WARM_MS ?? 200)));
  return store;
}

async function oneWriter(syncs: boolean): Promise<{ opsPerSec: number; syncs: number }> {
  const store = await openStore(`one-${syncs}`, syncs);
  try {
    const queue = 'queue://bench.orders';
    let seq = 0;
    const start = process.hrtime.bigint();
    const deadline = Date.now() + RUN_MS;
    while (Date.now() < deadline) {
      seq++;
      await store.write([{ type: 'add', queue, seq, message: message(seq) }]);
    }
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    return { opsPerSec: seq / elapsedS, syncs: store.writerStats.syncs };
  } finally {
    await store.close();
  }
}

async function pipelined(syncs: boolean): Promise<{ opsPerSec: number; syncs: number }> {
  const store = await openStore(`pipe-${syncs}`, syncs);
  try {
    const queue = 'queue://bench.orders';
    let seq = 0;
    let done = 0;
    const deadline = Date.now() + RUN_MS;
    const start = process.hrtime.bigint();
    // PIPELINE_DEPTH writes in flight at any time, each started as soon as one finishes.
    const lane = async () => {
      while (Date.now() < deadline) {
        const s = ++seq;
        await store.write([{ type: 'add', queue, seq: s, message: message(s) }]);
        done++;
      }
    };
    await Promise.all(Array.from({ length: PIPELINE_DEPTH }, lane));
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    return { opsPerSec: done / elapsedS, syncs: store.writerStats.syncs };
  } finally {
    await store.close();
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Other work on the machine moves fdatasync latency a lot, so each journal run sits between two
 * bare runs and is compared with their mean; the median over rounds is printed.
 */
async function compared(scenario: string, run: () => Promise<{ opsPerSec: number; syncs?: number }>): Promise<void> {
  const ratios: number[] = [];
  const rates: number[] = [];
  const bares: number[] = [];
  let syncs = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const before = bareFdatasyncLoop().opsPerSec;
    const r = await run();
    const after = bareFdatasyncLoop().opsPerSec;
    const bare = (before + after) / 2;
    ratios.push(r.opsPerSec / bare);
    rates.push(r.opsPerSec);
    bares.push(bare);
    syncs = r.syncs ?? 0;
  }
  console.log(JSON.stringify({ scenario, opsPerSec: Math.round(median(rates)), bareOpsPerSec: Math.round(median(bares)), ratioToBare: round(median(ratios)), ratios: ratios.map(round), syncsLastRound: syncs }));
}

try {
  const bare = bareFdatasyncLoop();
  console.log(JSON.stringify({ scenario: 'bare fdatasync loop, 1 KiB in place', opsPerSec: Math.round(bare.opsPerSec), syncUs: round(bare.syncUs) }));
  await compared('journal write, 1 writer awaiting each, fdatasync', () => oneWriter(true));
  await compared(`journal write, ${PIPELINE_DEPTH} in flight, fdatasync`, () => pipelined(true));
  await compared(`journal write, ${PIPELINE_DEPTH} in flight, no fdatasync`, () => pipelined(false));
} finally {
  if (bareFd !== null) fs.closeSync(bareFd);
  fs.rmSync(root, { recursive: true, force: true });
}
