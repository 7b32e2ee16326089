/**
 * A master whose journal writer stops for good (an fdatasync that fails with EIO) must not stay
 * master with a dead writer: it demotes at once, naming the journal, reopens its journal in place
 * (no restart, nothing deleted) and rejoins the group. While its journal cannot be reopened it
 * withdraws from the election, so the others elect a master instead of waiting for it.
 * Replication is faked (slaves copy nothing); the election runs through a real ZooKeeper.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicatedMode } from '../../src/ha/replicated-mode.js';
import type { HaStatus } from '../../src/ha/ha-mode.js';
import { JournalStore } from '../../src/store/journal/journal-store.js';
import type { MessageStore } from '../../src/store/message-store.js';
import { QmqError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { fakeReplication, inProcessGroup, inProcessNodeConfig } from '../helpers/replicated-in-process.js';
import { waitFor } from '../helpers/wait.js';
import { uniqueZkPath } from '../helpers/zookeeper.js';
import { addOps, captureLogger } from './replication-kit.js';

interface Node {
  id: string;
  mode: ReplicatedMode;
  /** Every journal store the mode made, in order; the last is the one in use. */
  journals: JournalStore[];
  elected: Array<{ epoch: number; store: MessageStore }>;
  demoted: string[];
  followed: Array<{ address: string; epoch: number }>;
  logger: ReturnType<typeof captureLogger>;
}

interface MemberRow {
  nodeId: string;
  role: string;
  log: { epoch: number; position: number } | null;
}

const members = (n: Node): MemberRow[] => ((n.mode.status().details?.members ?? []) as MemberRow[]);
const phase = (n: Node): string | undefined => (n.mode.status().details as { phase?: string }).phase;

/** The next fdatasync of `journal` fails with EIO, as a dying disk reports it; later ones work. */
function failNextSync(journal: JournalStore): void {
  const log = (journal as unknown as { log: { datasync: (s: unknown) => Promise<void>; datasyncSync: (s: unknown) => void } }).log;
  const realAsync = log.datasync.bind(log);
  const realSync = log.datasyncSync.bind(log);
  let failed = false;
  const eio = () => {
    failed = true;
    return Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  };
  // A replication master syncs on the thread pool (`datasync`) while other sends wait, else in the loop.
  log.datasync = async (s) => {
    if (!failed) throw eio();
    await realAsync(s);
  };
  log.datasyncSync = (s) => {
    if (!failed) throw eio();
    realSync(s);
  };
}

describe('replicated mode: the journal writer fails for good', () => {
  const fixture = inProcessGroup<Node>();
  const { dirs, nodes } = fixture;

  /** `refuseOpen` is asked before every open after the first: true makes that open fail. */
  async function startNode(id: string, zkPath: string, refuseOpen: () => boolean = () => false): Promise<Node> {
    const config = inProcessNodeConfig({ brokerName: 'group-w', zkConnect: fixture.zk().connectString, zkPath, dirs, dirPrefix: 'qmq-wfail-' });
    const journals: JournalStore[] = [];
    const followed: Node['followed'] = [];
    const logger = captureLogger();
    const mode = new ReplicatedMode(config, logger, {
      nodeId: id,
      replication: fakeReplication({ onFollow: (address, epoch) => void followed.push({ address, epoch }) }),
      journal: (c, l, o) => {
        const j = new JournalStore(c, l, o);
        if (journals.length > 0 && refuseOpen()) {
          j.open = async () => {
            throw new QmqError('STORE_IO', `journal I/O error: opening ${c.directory} failed (EIO: i/o error, open)`);
          };
        }
        journals.push(j);
        return j;
      },
    });
    const node: Node = { id, mode, journals, elected: [], demoted: [], followed, logger };
    await mode.start({
      elected: async (epoch, store) => void node.elected.push({ epoch, store }),
      demoted: async (reason) => void node.demoted.push(reason),
    });
    nodes.push(node);
    return node;
  }

  const roles = (ns: Node[]): HaStatus['role'][] => ns.map((n) => n.mode.status().role);

  async function electedGroup(zkPath: string, a: Node): Promise<Node[]> {
    const group = [a, await startNode(`${a.id.slice(0, -1)}b`, zkPath), await startNode(`${a.id.slice(0, -1)}c`, zkPath)];
    await waitFor('one master and two slaves', () => {
      const r = roles(group);
      return r.filter((x) => x === 'master').length === 1 && r.filter((x) => x === 'slave').length === 2;
    }, 20_000);
    // Equal empty logs: the lowest node id wins.
    assert.equal(a.mode.status().role, 'master');
    return group;
  }

  /** Makes the master's next write fail in its fdatasync; returns its epoch and its durable end before that write. */
  async function breakMasterWrite(a: Node): Promise<{ epoch: number; durable: number }> {
    const { epoch, store } = a.elected.at(-1)!;
    await store.write(addOps(1, 3));
    const journal = a.journals.at(-1)!;
    const durable = journal.lastPosition().position;
    failNextSync(journal);
    await assert.rejects(store.write(addOps(4, 3)), (e: QmqError) => e.codeName === 'STORE_IO' && /EIO/.test(e.message));
    return { epoch, durable };
  }

  it('demotes at once, reopens its journal in place and rejoins the group', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('wfail');
    const a = await startNode('wf-a', zkPath);
    const group = await electedGroup(zkPath, a);
    const failedJournal = a.journals.at(-1)!;
    const { epoch: epoch1, durable } = await breakMasterWrite(a);

    await waitFor('wf-a to be demoted', () => a.demoted.length === 1, 10_000);
    assert.match(a.demoted[0], /^the journal can no longer be written: .*EIO/);
    assert.match(String(a.mode.status().details?.lastDemotion), /journal can no longer be written/);
    // The store handed to the core is fenced: nothing more is acknowledged by this master.
    await assert.rejects(a.elected.at(-1)!.store.write(addOps(10, 1)), (e: QmqError) => e.codeName === 'FENCED');

    // Healed in place: a second store on the same directory, open, holding what was durable.
    await waitFor('wf-a to reopen its journal', () => a.journals.length === 2 && !(a.mode.status().details as { journalFailure?: string }).journalFailure, 10_000);
    const reopened = a.journals[1];
    assert.notEqual(reopened, failedJournal);
    assert.equal(reopened.config.directory, failedJournal.config.directory);
    assert.equal(reopened.recovery?.endPosition, durable, 'recovery found the log up to the last durable group, and not the failed one');
    assert.throws(() => failedJournal.appendPosition, (e: QmqError) => e.codeName === 'STORE_CLOSED');

    // Rejoined: with faked replication nobody else holds wf-a's records, so it has the longest
    // log and may be elected again (a new epoch); if another won first, it follows that one.
    await waitFor('a master again, and wf-a master or slave', () => roles(group).filter((r) => r === 'master').length === 1 && ['master', 'slave'].includes(a.mode.status().role), 20_000);
    const master = group.find((n) => n.mode.status().role === 'master')!;
    const epoch2 = master.elected.at(-1)!.epoch;
    assert.ok(epoch2 > epoch1, `new epoch ${epoch2} must be above ${epoch1}`);
    if (master === a) {
      // The new writer works: a send through the new master's store is stored.
      assert.equal(a.elected.length, 2);
      await a.elected[1].store.write(addOps(20, 2));
      assert.ok(reopened.lastPosition().position > durable);
    } else {
      assert.equal(a.followed.at(-1)?.epoch, epoch2);
      assert.match(a.mode.status().reason ?? '', new RegExp(`slave of ${master.id} at epoch ${epoch2}`));
    }
    assert.equal(a.logger.lines.filter((l) => l.msg === 'journal reopened; a candidate again').length, 1);
  });

  it('withdraws while its journal cannot be reopened, so another member is elected; then follows it', { timeout: 60_000 }, async () => {
    const zkPath = uniqueZkPath('wfail-reopen');
    // The disk comes back only once another member serves as master with its own epoch marker.
    let diskBack = false;
    const a = await startNode('wr-a', zkPath, () => !diskBack);
    const group = await electedGroup(zkPath, a);
    const { epoch: epoch1 } = await breakMasterWrite(a);
    const others = group.filter((n) => n !== a);

    await waitFor('wr-a to be demoted', () => a.demoted.length === 1, 10_000);
    assert.match(a.demoted[0], /journal can no longer be written: .*EIO/);
    // The reopen fails: the node says why, and when it tries next.
    const reason = await waitFor('the reason to name the unusable journal', () => {
      const r = a.mode.status().reason ?? '';
      return /^journal unusable: .*EIO: i\/o error, open.*; retrying in \d+ ms/.test(r) ? r : undefined;
    }, 10_000);
    assert.match(reason, /retrying in 500 ms \(attempt 1\)/);
    assert.equal(a.mode.status().role, 'standby');
    assert.ok(a.logger.lines.some((l) => l.level === 'error' && /^journal unusable: /.test(l.msg)), 'the failed reopen is logged');

    // Withdrawn: it publishes no log position, so the other two elect among themselves although
    // wr-a holds the longest log (a candidate that reported it would be elected and never take over).
    await waitFor('wr-a withdrawn in the group view', () => {
      const row = members(others[0]).find((m) => m.nodeId === 'wr-a');
      return row !== undefined && row.role === 'candidate' && row.log === null;
    }, 10_000);
    const next = await waitFor('another member to serve as master, its marker counted', () => {
      const m = others.find((n) => n.mode.status().role === 'master');
      const row = m && members(m).find((r) => r.nodeId === m.id);
      return m && row?.role === 'master' && row.log && row.log.epoch > epoch1 ? m : undefined;
    }, 20_000);
    const epoch2 = next.elected.at(-1)!.epoch;
    assert.ok(epoch2 > epoch1);
    assert.equal(phase(a), 'candidate');
    assert.equal(a.journals.length >= 2, true, 'at least one reopen was tried');

    // The disk is back: the next retry opens the journal and wr-a follows the new master.
    diskBack = true;
    await waitFor('wr-a to follow the new master', () => a.mode.status().role === 'slave', 20_000);
    assert.equal(a.followed.at(-1)?.epoch, epoch2);
    assert.match(a.mode.status().reason ?? '', new RegExp(`slave of ${next.id} at epoch ${epoch2}`));
    assert.equal(next.mode.status().role, 'master', 'the new master stays');
    const reopened = a.journals.at(-1)!;
    assert.ok(reopened.lastPosition().position > 0, 'the reopened journal holds wr-a\'s log');
    assert.equal(a.mode.status().details?.journalFailure, undefined);
  });
});
