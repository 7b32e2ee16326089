import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalPersistence } from '../../src/config/types.js';
import type { Message } from '../../src/broker/message.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import { parseSyncLevel } from '../../src/ha/quorum.js';
import { ReplicatedStore, ReplicationClient, ReplicationServer, type ReplicationServerOptions } from '../../src/ha/replication/index.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';

/** Shared pieces of the replication integration tests: real journals in temp dirs, loopback TCP. */
const dirs: string[] = [];
export function tempStoreDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-repl-'));
  dirs.push(d);
  return d;
}
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function journalConfig(directory: string, segmentBytes = 1024 * 1024): JournalPersistence {
  return { kind: 'journal', flavour: 'default', directory, journalMaxFileLengthBytes: segmentBytes, checkpointIntervalMs: 0, enableJournalDiskSyncs: true };
}

export async function openJournal(directory = tempStoreDir(), segmentBytes?: number): Promise<JournalStore> {
  const j = new JournalStore(journalConfig(directory, segmentBytes), silentLogger, { preallocate: false });
  await j.open();
  return j;
}

export function message(i: number, bodyBytes = 100): Message {
  return {
    id: `ID:test-${i}`,
    destination: { kind: 'queue', name: 'repl' },
    headers: {},
    body: Buffer.alloc(bodyBytes, i % 251),
    bodyIsBytes: true,
    persistent: true,
    priority: 4,
    expires: 0,
    timestamp: 1_700_000_000_000 + i,
    redeliveryCount: 0,
  };
}

export function addOps(from: number, count: number, bodyBytes = 100) {
  return Array.from({ length: count }, (_, k) => ({ type: 'add' as const, queue: 'queue://repl', seq: from + k, message: message(from + k, bodyBytes) }));
}

/** A logger that keeps every line, for asserting on what operators would read. */
export function captureLogger(): Logger & { lines: { level: string; obj: unknown; msg: string }[] } {
  const lines: { level: string; obj: unknown; msg: string }[] = [];
  const make = (): Logger => ({
    debug: (o, m) => void lines.push({ level: 'debug', obj: o, msg: m ?? (typeof o === 'string' ? o : '') }),
    info: (o, m) => void lines.push({ level: 'info', obj: o, msg: m ?? (typeof o === 'string' ? o : '') }),
    warn: (o, m) => void lines.push({ level: 'warn', obj: o, msg: m ?? (typeof o === 'string' ? o : '') }),
    error: (o, m) => void lines.push({ level: 'error', obj: o, msg: m ?? (typeof o === 'string' ? o : '') }),
    child: () => make(),
  });
  return Object.assign(make(), { lines });
}

export interface Master {
  journal: JournalStore;
  server: ReplicationServer;
  store: ReplicatedStore;
  address: string;
}

export async function startMaster(opts: Partial<ReplicationServerOptions> & { journal?: JournalStore; sync?: string } = {}): Promise<Master> {
  const journal = opts.journal ?? (await openJournal());
  const server = new ReplicationServer({
    journal,
    epoch: opts.epoch ?? 2,
    bind: 'tcp://127.0.0.1:0',
    nodeId: 'master',
    replicas: opts.replicas ?? 3,
    level: opts.level ?? parseSyncLevel(opts.sync ?? 'quorum_disk'),
    syncTimeoutMs: opts.syncTimeoutMs ?? 10_000,
    logger: opts.logger ?? silentLogger,
    securityToken: opts.securityToken,
    maxInFlightBytes: opts.maxInFlightBytes,
    frameBytes: opts.frameBytes,
    lazySendMs: opts.lazySendMs,
  });
  const { port } = await server.start();
  return { journal, server, store: new ReplicatedStore(journal, server), address: `tcp://127.0.0.1:${port}` };
}

export async function startSlave(master: { address: string; epoch: number }, opts: { journal?: JournalStore; nodeId?: string; securityToken?: string; logger?: Logger; idleTimeoutMs?: number } = {}) {
  const journal = opts.journal ?? (await openJournal());
  const client = new ReplicationClient({ journal, nodeId: opts.nodeId ?? 'slave', securityToken: opts.securityToken, logger: opts.logger ?? silentLogger, idleTimeoutMs: opts.idleTimeoutMs });
  await client.follow(master.address, master.epoch);
  return { journal, client };
}

/** Stops the slaves' clients, then the master's server, then closes every journal (the slaves' and `also`). */
export async function stopGroup(m: Master, slaves: { journal: JournalStore; client: ReplicationClient }[], also: JournalStore[] = []): Promise<void> {
  for (const s of slaves) await s.client.stop();
  await m.server.stop();
  for (const j of [m.journal, ...slaves.map((s) => s.journal), ...also]) await j.close();
}

/** The log's bytes [from, to), read from its segment files. */
export function logBytes(j: JournalStore, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (const file of j.segmentFiles) {
    const start = Number(path.basename(file, '.log'));
    const buf = fs.readFileSync(file);
    const a = Math.max(from, start);
    const b = Math.min(to, start + buf.length);
    if (b > a) parts.push(buf.subarray(a - start, b - start));
  }
  return Buffer.concat(parts);
}
