import fs from 'node:fs';
import path from 'node:path';
import { QmqError } from '../util/errors.js';
import { silentLogger } from '../util/logger.js';
import { JournalIndex } from '../store/journal/leveldb-index.js';
import { JournalStore } from '../store/journal/journal-store.js';
import { scanLog, type SegmentRef } from '../store/journal/log-scanner.js';
import { decodeOp } from '../store/journal/op-codec.js';
import { decodeRecordAt, encodeRecord, HEADER_BYTES, RecordType, recordTypeName } from '../store/journal/record-codec.js';
import { writeQuarantine } from '../store/journal/recovery.js';
import { listSegmentFiles } from '../store/journal/segment-log.js';
import { StoreLock } from '../store/journal/store-lock.js';

/**
 * `quorummq store verify|dump DIR`, offline: the broker must not be running on DIR (the store
 * lock is taken). These functions return plain objects; the CLI prints them.
 */

export interface DamageReport {
  segment: string;
  offset: number;
  position: number;
  reason: string;
  /** Bytes from the damage to the next valid record (or to the end of the data for a torn tail). */
  bytes: number;
  /** True when no valid record follows: a torn tail rather than damage in the middle. */
  tail: boolean;
  /** Set by `repair`: where the damaged bytes were moved. */
  quarantineFile?: string;
}

export interface VerifyReport {
  ok: boolean;
  directory: string;
  segments: { file: string; startPosition: number; sizeBytes: number }[];
  records: number;
  /** Log position just past the last valid record. */
  endPosition: number;
  damage: DamageReport[];
  index: { checkpoint: number | null; messagesChecked: number; problems: string[] };
  repaired: boolean;
}

export interface DumpedRecord {
  position: number;
  epoch: number;
  type: string;
  lengthBytes: number;
  batchContinues: boolean;
  compactionCopy: boolean;
  /** A readable summary of the payload (queue, seq, message id, body size, …). */
  summary: Record<string, unknown>;
}

export interface DumpReport {
  directory: string;
  segments: { file: string; startPosition: number; sizeBytes: number }[];
  records: DumpedRecord[];
  /** True when the range held more records than the dump lists. */
  recordsTruncated: boolean;
  depths: { queue: string; count: number; lastSeq: number }[];
  checkpoint: number | null;
  last: { epoch: number; position: number };
}

const MAX_DUMP_RECORDS = 10_000;

function segmentsOf(dir: string): { refs: SegmentRef[]; listing: VerifyReport['segments'] } {
  if (!fs.existsSync(dir)) throw new QmqError('STORE_IO', `no store directory at ${dir}`);
  const segs = listSegmentFiles(dir);
  return { refs: segs.map((s) => ({ start: s.start, file: s.file })), listing: segs.map((s) => ({ file: s.file, startPosition: s.start, sizeBytes: s.sizeBytes })) };
}

/** Every record of the log, continuing past damage to the next valid record. */
async function scanAll(refs: SegmentRef[], onRecord: (r: { position: number; epoch: number; type: number; length: number; more: boolean; rewrite: boolean; payload: Buffer }) => void): Promise<{ damage: DamageReport[]; endPosition: number }> {
  const damage: DamageReport[] = [];
  if (refs.length === 0) return { damage, endPosition: 0 };
  let from = refs[0].start;
  for (;;) {
    const it = scanLog(refs, from);
    for (;;) {
      const n = await it.next();
      if (!n.done) {
        const r = n.value.record;
        onRecord({ position: r.position, epoch: r.epoch, type: r.type, length: r.length, more: r.more, rewrite: r.rewrite, payload: r.payload });
        continue;
      }
      const stop = n.value;
      if (stop.kind === 'clean') return { damage, endPosition: stop.position };
      const nv = stop.nextValid;
      damage.push({
        segment: stop.segment.file,
        offset: stop.offset,
        position: stop.position,
        reason: stop.reason,
        // Damage that runs to the end of a segment is padded up to where the next segment starts.
        bytes: nv ? (nv.segment === stop.segment ? nv.position - stop.position : refs[refs.indexOf(stop.segment) + 1].start - stop.position) : stop.damagedBytesInSegment,
        tail: nv === null,
      });
      if (!nv) return { damage, endPosition: stop.position };
      from = nv.position;
      break;
    }
  }
}

async function openIndexIfPresent(dir: string): Promise<JournalIndex | null> {
  const loc = path.join(dir, 'index');
  if (!fs.existsSync(loc)) return null;
  return JournalIndex.open(loc, false);
}

/**
 * Checks the CRC and framing of every record and that every index entry points at the add
 * record it names. With `repair`, damaged bytes go to `<dir>/quarantine/` and are replaced by
 * padding (a torn tail is cut instead), every valid record is kept, and the index is rebuilt.
 */
export async function verifyStore(dir: string, opts: { repair: boolean }): Promise<VerifyReport> {
  const lock = StoreLock.acquire(dir);
  let report: VerifyReport;
  try {
    const { refs, listing } = segmentsOf(dir);
    let records = 0;
    const { damage, endPosition } = await scanAll(refs, () => records++);
    const index = await openIndexIfPresent(dir);
    const problems: string[] = [];
    let messagesChecked = 0;
    let checkpoint: number | null = null;
    if (index) {
      try {
        checkpoint = index.hasCheckpoint ? index.checkpoint.position : null;
        if (checkpoint !== null && checkpoint > endPosition) problems.push(`the index checkpoint (${checkpoint}) lies past the end of the valid log (${endPosition})`);
        const fds = new Map<string, number>();
        try {
          for await (const e of index.allMessages()) {
            messagesChecked++;
            const seg = [...refs].reverse().find((s) => s.start <= e.loc.position);
            if (!seg) {
              problems.push(`${e.queue}#${e.seq}: position ${e.loc.position} is in no segment`);
              continue;
            }
            let fd = fds.get(seg.file);
            if (fd === undefined) fds.set(seg.file, (fd = fs.openSync(seg.file, 'r')));
            const buf = Buffer.alloc(e.loc.length);
            fs.readSync(fd, buf, 0, e.loc.length, e.loc.position - seg.start);
            const r = decodeRecordAt(buf, 0, e.loc.position);
            const op = r.ok ? decodeOp(r.record.type, r.record.payload) : null;
            if (!r.ok) problems.push(`${e.queue}#${e.seq}: the record at ${e.loc.position} is invalid (${r.reason})`);
            else if (!op || op.type !== 'add' || op.queue !== e.queue || op.seq !== e.seq) problems.push(`${e.queue}#${e.seq}: the record at ${e.loc.position} is a different record`);
            if (problems.length > 1000) break;
          }
        } finally {
          for (const fd of fds.values()) fs.closeSync(fd);
        }
      } finally {
        await index.close();
      }
    }
    report = {
      ok: damage.length === 0 && problems.length === 0,
      directory: dir,
      segments: listing,
      records,
      endPosition,
      damage,
      index: { checkpoint, messagesChecked, problems },
      repaired: false,
    };
    if (opts.repair && !report.ok) {
      for (const d of damage) repairDamage(dir, refs, d);
      // The index is derived data: drop it and let the store rebuild it from the repaired log.
      fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
      report.repaired = true;
    }
  } finally {
    lock.release();
  }
  if (report.repaired) {
    const maxSegmentBytes = Math.max(1024 * 1024, ...report.segments.map((s) => s.sizeBytes));
    const store = new JournalStore(
      { kind: 'journal', flavour: 'default', directory: dir, journalMaxFileLengthBytes: maxSegmentBytes, checkpointIntervalMs: 0, enableJournalDiskSyncs: true },
      silentLogger,
      { preallocate: false },
    );
    await store.open();
    await store.close();
  }
  return report;
}

function repairDamage(dir: string, refs: SegmentRef[], d: DamageReport): void {
  const seg = refs.find((s) => s.file === d.segment)!;
  const fd = fs.openSync(seg.file, 'r+');
  try {
    const damaged = Buffer.alloc(d.bytes);
    fs.readSync(fd, damaged, 0, d.bytes, d.offset);
    d.quarantineFile = writeQuarantine(dir, seg.file, d.offset, damaged, 'bad');
    if (d.tail) {
      // Nothing valid follows: cut here, as recovery would.
      fs.writeSync(fd, Buffer.alloc(d.bytes), 0, d.bytes, d.offset);
    } else {
      if (d.bytes < HEADER_BYTES) throw new QmqError('STORE_CORRUPT', `the damage at ${seg.file} offset ${d.offset} is ${d.bytes} bytes, too short to pad; it is saved in ${d.quarantineFile}`);
      // Padding keeps every later record at its position, so positions stay identical on replicas.
      const pad = encodeRecord(RecordType.PAD, Buffer.alloc(d.bytes - HEADER_BYTES), 0, d.position);
      fs.writeSync(fd, pad, 0, pad.length, d.offset);
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function summarize(type: number, payload: Buffer): Record<string, unknown> {
  try {
    const op = decodeOp(type, payload);
    if (!op) return type === RecordType.PAD ? { paddingBytes: payload.length } : {};
    switch (op.type) {
      case 'add':
        return { queue: op.queue, seq: op.seq, messageId: op.message.id, bodyBytes: op.message.body.length, headers: Object.keys(op.message.headers).length, priority: op.message.priority };
      case 'remove':
        return { queue: op.queue, seq: op.seq };
      case 'destination-add':
      case 'destination-remove':
        return { destination: `${op.destination.kind}://${op.destination.name}` };
      case 'subscription-add':
        return { clientId: op.subscription.clientId, name: op.subscription.name, destination: `${op.subscription.destination.kind}://${op.subscription.destination.name}` };
      case 'subscription-remove':
        return { clientId: op.clientId, name: op.name };
      case 'producer-seq':
        return { producerId: op.producerId, seq: op.seq };
      case 'tx-commit':
        return { txId: op.txId };
    }
  } catch (e) {
    return { undecodable: (e as Error).message };
  }
}

const DIVERGENT_TAIL = /^divergent-(\d{20})-\d{20}-.*\.log$/;
const DAMAGED_RANGE = /^(\d{20})\.log\.(\d+)\.(?:bad|torn)$/;
const SEGMENT_FILE = /^(\d{20})\.log$/;

/**
 * The log positions of a piece of log set aside in `<directory>/quarantine/`, read as segments:
 * a divergent tail (`divergent-<from>-<to>-….log` starts at `<from>`), damaged bytes
 * (`<segment>.log.<offset>.bad|torn` start at the segment's start plus the offset), or a log
 * replaced by a snapshot (a `replaced-…/` directory of segment files). Undefined for anything else.
 */
export function quarantinedSegments(p: string): SegmentRef[] | undefined {
  if (!fs.existsSync(p)) return undefined;
  const name = path.basename(p);
  if (fs.statSync(p).isDirectory()) {
    if (fs.existsSync(path.join(p, 'log'))) return undefined;
    const refs = fs.readdirSync(p).flatMap((n) => {
      const m = SEGMENT_FILE.exec(n);
      return m ? [{ start: Number(m[1]), file: path.join(p, n) }] : [];
    });
    return refs.length > 0 ? refs.sort((a, b) => a.start - b.start) : undefined;
  }
  const tail = DIVERGENT_TAIL.exec(name);
  if (tail) return [{ start: Number(tail[1]), file: p }];
  const damaged = DAMAGED_RANGE.exec(name);
  if (damaged) return [{ start: Number(damaged[1]) + Number(damaged[2]), file: p }];
  return undefined;
}

/**
 * Segments, the records of `[from, to)` in readable form, each queue's depth, the last (epoch,
 * position). `dir` may also be a quarantined piece of log (see `quarantinedSegments`): then
 * there is no index and no lock to take.
 */
export async function dumpStore(dir: string, opts: { from?: number; to?: number }): Promise<DumpReport> {
  const quarantined = quarantinedSegments(dir);
  if (quarantined) return dumpSegments(dir, quarantined, opts, async () => ({ depths: [], checkpoint: null }));
  const lock = StoreLock.acquire(dir);
  try {
    const { refs } = segmentsOf(dir);
    return await dumpSegments(dir, refs, opts, async () => {
      const index = await openIndexIfPresent(dir);
      if (!index) return { depths: [], checkpoint: null };
      try {
        return {
          checkpoint: index.hasCheckpoint ? index.checkpoint.position : null,
          depths: index.recoveredState().queues.map((q) => ({ queue: q.queue, count: q.count, lastSeq: q.lastSeq })),
        };
      } finally {
        await index.close();
      }
    });
  } finally {
    lock.release();
  }
}

async function dumpSegments(
  dir: string,
  refs: SegmentRef[],
  opts: { from?: number; to?: number },
  readIndex: () => Promise<Pick<DumpReport, 'depths' | 'checkpoint'>>,
): Promise<DumpReport> {
  const listing = refs.map((r) => ({ file: r.file, startPosition: r.start, sizeBytes: fs.statSync(r.file).size }));
  const from = opts.from ?? refs[0]?.start ?? 0;
  const to = opts.to ?? Number.MAX_SAFE_INTEGER;
  const records: DumpedRecord[] = [];
  let recordsTruncated = false;
  let lastEpoch = 0;
  const { endPosition } = await scanAll(refs, (r) => {
    lastEpoch = r.epoch;
    if (r.position < from || r.position >= to) return;
    if (records.length >= MAX_DUMP_RECORDS) {
      recordsTruncated = true;
      return;
    }
    records.push({
      position: r.position,
      epoch: r.epoch,
      type: recordTypeName(r.type),
      lengthBytes: r.length,
      batchContinues: r.more,
      compactionCopy: r.rewrite,
      summary: summarize(r.type, r.payload),
    });
  });
  const { depths, checkpoint } = await readIndex();
  return { directory: dir, segments: listing, records, recordsTruncated, depths, checkpoint, last: { epoch: lastEpoch, position: endPosition } };
}
