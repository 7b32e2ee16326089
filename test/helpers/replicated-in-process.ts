/**
 * For tests of the replicated mode's control path in one process, with a real ZooKeeper:
 * a validated config per node (its own temporary directory), and a MessageStore over the
 * node's journal that stands in for the replicated one (replication itself is faked by each
 * test's ReplicationFactory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, validateConfig } from '../../src/config/index.js';
import type { BrokerConfig } from '../../src/config/types.js';
import type { ReplicationFactory } from '../../src/ha/replicated-mode.js';
import type { SlaveProgress } from '../../src/ha/replication/types.js';
import type { JournalStore } from '../../src/store/journal/journal-store.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { QmqError } from '../../src/util/errors.js';
import { sharedZooKeeper, type SharedZooKeeper } from './zookeeper.js';

/** A node of group `brokerName` on `zkPath`, `local_disk`, 2 s sessions; its directory is pushed onto `dirs` for cleanup. */
export function inProcessNodeConfig(o: { brokerName: string; zkConnect: string; zkPath: string; dirs: string[]; dirPrefix?: string }): BrokerConfig {
  const dir = mkdtempSync(join(tmpdir(), o.dirPrefix ?? 'qmq-inproc-'));
  o.dirs.push(dir);
  return validateConfig(
    {
      ...defaultConfig({ dataDirectory: dir }),
      brokerName: o.brokerName,
      persistence: {
        kind: 'replicatedLevelDB',
        directory: join(dir, 'leveldb'),
        replicas: 3,
        bind: 'tcp://127.0.0.1:0',
        zkAddress: o.zkConnect,
        zkPath: o.zkPath,
        zkSessionTimeoutMs: 2000,
        weight: 1,
        sync: ['local_disk'],
        syncTimeoutMs: 30_000,
        journalMaxFileLengthBytes: 32 * 1024 * 1024,
      },
    },
    '<test>',
  );
}

/** Writes straight to the journal until fenced, then refuses. */
export function journalBackedStore(journal: JournalStore): MessageStore & { fence(reason: string): void } {
  let fenced = false;
  return {
    kind: 'fake',
    fence: () => void (fenced = true),
    open: async () => ({ destinations: [], subscriptions: [], queues: [], producerSeqs: new Map() }),
    write: async (ops) => {
      if (fenced) throw new Error('fenced');
      await journal.write(ops);
    },
    read: (q, f, m) => journal.read(q, f, m),
    isTransactionCommitted: (t) => journal.isTransactionCommitted(t),
    stats: () => journal.stats(),
    close: async () => {},
  };
}

export interface FakeReplicationOptions {
  /** A master's replication server start; by default it "listens" on a made-up port. */
  start?: () => Promise<{ host: string; port: number }>;
  /** False: an epoch marker never meets the sync level (no slave confirms it). */
  confirmsMarker?: boolean;
  /** True: a follow attempt stays pending until its client is stopped, then rejects. */
  hangFollowers?: boolean;
  /** Sees each follow attempt; what it returns runs when that attempt is stopped. */
  onFollow?: (address: string, epoch: number) => (() => void) | void;
  /** Slaves a master reports logged in (default 2: enough that no master stands aside, stand-aside.ts). */
  slavesConnected?: number;
}

function fakeSlaves(n: number): SlaveProgress[] {
  return Array.from({ length: n }, (_, i) => ({ nodeId: `fake-slave-${i + 1}`, address: `127.0.0.1:${40000 + i}`, received: 0, synced: 0, lagBytes: 0, connectedAt: 0 }));
}

/** Replication faked away, so only the control path (election, epochs, roles) runs for real. */
export function fakeReplication(o: FakeReplicationOptions = {}): ReplicationFactory {
  return {
    server: () => ({
      start: o.start ?? (async () => ({ host: '127.0.0.1', port: 1 + Math.floor(Math.random() * 60000) })),
      waitForSync: o.confirmsMarker === false ? () => new Promise<void>(() => {}) : async () => {},
      slaves: () => fakeSlaves(o.slavesConnected ?? 2),
      onFenced: () => {},
      stop: async () => {},
    }),
    client: (c) => {
      let stop: (() => void) | undefined;
      return {
        follow: (address, epoch) => {
          const onStopped = o.onFollow?.(address, epoch);
          if (!o.hangFollowers) return Promise.resolve();
          return new Promise<void>((_resolve, reject) => {
            stop = () => {
              onStopped?.();
              reject(new QmqError('SHUTTING_DOWN', 'the replication client was stopped'));
            };
          });
        },
        position: () => c.journal.lastPosition(),
        onLost: () => {},
        stop: async () => stop?.(),
      };
    },
    store: (journal) => journalBackedStore(journal),
  };
}

/**
 * Call inside a `describe`: the shared ZooKeeper (from `before`), the temporary directories and
 * the started nodes of one in-process test file; `after` stops every node, then ZooKeeper, and
 * removes the directories.
 */
export function inProcessGroup<N extends { mode: { stop(): Promise<void> } }>(): { zk(): SharedZooKeeper; dirs: string[]; nodes: N[] } {
  let zk: SharedZooKeeper | undefined;
  const dirs: string[] = [];
  const nodes: N[] = [];
  before(async () => {
    zk = await sharedZooKeeper();
  });
  after(async () => {
    for (const n of nodes) await n.mode.stop().catch(() => undefined);
    await zk?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    zk: () => {
      if (!zk) throw new Error('inProcessGroup: ZooKeeper is not started yet (use it inside a test)');
      return zk;
    },
    dirs,
    nodes,
  };
}
