import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ZkElector, type ElectorSession } from '../../src/ha/zookeeper/elector.js';
import type { MemberRecord } from '../../src/ha/zookeeper/elector-member.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

/**
 * A stand-in for ZkSession with one znode: records what was written, can be suspended and
 * served again, and can make the next writes fail.
 */
class FakeSession extends EventEmitter {
  state: 'connected' | 'suspended' | 'lost' | 'closed' = 'connected';
  readonly grantedSessionTimeoutMs = 2000;
  data = new Map<string, Buffer>();
  failWrites = 0;
  async ensurePath(): Promise<void> {}
  async createEphemeralSequential(prefix: string, data: Buffer): Promise<string> {
    const path = `${prefix}0000000001`;
    this.data.set(path, data);
    return path;
  }
  async setData(path: string, data: Buffer): Promise<void> {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('injected write failure');
    }
    this.data.set(path, data);
  }
  async getData(): Promise<Buffer | null> {
    return null;
  }
  async compareAndSet(): Promise<boolean> {
    return true;
  }
  async getChildrenWithData(): Promise<{ name: string; data: Buffer }[]> {
    return [...this.data].map(([p, d]) => ({ name: p.slice(p.lastIndexOf('/') + 1), data: d }));
  }
  async close(): Promise<void> {
    this.state = 'closed';
  }
  suspend(): void {
    this.state = 'suspended';
    this.emit('suspended', { why: 'test', silentMs: 1000 });
  }
  serveAgain(): void {
    this.state = 'connected';
    this.emit('reconnected');
  }
  /** The role the znode says, as the other members would read it. */
  get publishedRole(): string {
    return (JSON.parse([...this.data.values()][0].toString()) as MemberRecord).role;
  }
}

/** Lets the elector's queued writes and reads run (no publish of our own, which would write anyway). */
async function ticks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

async function registered(clock = new ManualClock()): Promise<{ elector: ZkElector; session: FakeSession; clock: ManualClock }> {
  const session = new FakeSession();
  const elector = new ZkElector(
    {
      connectString: 'fake:2181', zkPath: '/g', sessionTimeoutMs: 2000, replicas: 3, brokerName: 'b', nodeId: 'n1', logger: silentLogger, clock,
      connect: async () => session as unknown as ElectorSession,
    },
    { brokerName: 'b', nodeId: 'n1', log: { epoch: 1, position: 10 }, weight: 1, role: 'slave', clientUrls: [], following: 'n2' },
  );
  elector.start({ onView: () => {}, onSessionDown: () => {}, onSessionUp: () => {} });
  for (let i = 0; i < 20 && elector.ownZnode === null; i++) await new Promise<void>((r) => setImmediate(r));
  await elector.publish({});
  return { elector, session, clock };
}

test('a record published while the session is suspended reaches the znode once the session is served again', async () => {
  const { elector, session } = await registered();
  assert.equal(session.publishedRole, 'slave');
  session.suspend();
  // The slave stops following while ZooKeeper does not answer: its final position as a candidate is not written...
  await elector.publish({ role: 'candidate', following: undefined });
  assert.equal(session.publishedRole, 'slave');
  // ...and the same session being served again must write it, or the group counts this node as an unreported slave forever.
  session.serveAgain();
  await ticks();
  assert.equal(session.publishedRole, 'candidate');
  await elector.stop();
});

test('a failed write is retried while the session lasts', async () => {
  const { elector, session, clock } = await registered();
  session.failWrites = 1;
  await elector.publish({ role: 'candidate', following: undefined });
  assert.equal(session.publishedRole, 'slave');
  clock.advance(2000);
  await ticks();
  assert.equal(session.publishedRole, 'candidate');
  await elector.stop();
});
