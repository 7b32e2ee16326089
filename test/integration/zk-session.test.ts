/**
 * ZkSession against real ZooKeeper servers: registration and watches, epoch compare-and-set,
 * the watchdog under a frozen server (SIGSTOP), which node-zookeeper-client alone never
 * reports, and digest authentication (zkPassword) with CREATOR_ALL ACLs on the group's znodes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper from 'node-zookeeper-client';
import { ZkSession } from '../../src/ha/zk-session.js';
import { privateEnsemble, sharedZooKeeper, uniqueZkPath, type Ensemble, type SharedZooKeeper } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';

const SESSION_TIMEOUT_MS = 2000;

let ensemble: (Ensemble & { stop(): Promise<void> }) | null = null;
let shared: SharedZooKeeper | null = null;
const sessions: ZkSession[] = [];

async function open(connectString: string, connectTimeoutMs = 10_000, digestAuth?: string): Promise<ZkSession> {
  const s = await ZkSession.connect({ connectString, sessionTimeoutMs: SESSION_TIMEOUT_MS, connectTimeoutMs, digestAuth });
  sessions.push(s);
  return s;
}

before(async () => {
  // This file freezes servers, so it cannot use the run-wide ensemble (QMQ_ZK_CONNECT).
  ensemble = await privateEnsemble(3);
  // Tests that only read and write use the run-wide ensemble when there is one.
  shared = await sharedZooKeeper(ensemble);
});

after(async () => {
  for (const s of sessions) await s.close().catch(() => {});
  // Thaw before stopping: whatever a failed test left frozen is stopped by PID all the same.
  if (ensemble) {
    for (const n of ensemble.nodes) await ensemble.killNode(n.id, 'SIGCONT').catch(() => {});
    await ensemble.stop();
  }
  await shared?.stop();
});

test('ephemeral sequential members, child and data watches, and removal on close', async () => {
  const zk = shared!;
  const root = uniqueZkPath('members');
  const a = await open(zk.connectString);
  assert.equal(a.grantedSessionTimeoutMs, SESSION_TIMEOUT_MS);
  await a.ensurePath(root);
  await a.ensurePath(root); // idempotent

  const pathA = await a.createEphemeralSequential(`${root}/member-`, JSON.stringify({ nodeId: 'a' }));
  assert.match(pathA, new RegExp(`^${root}/member-\\d{10}$`));

  let changes = 0;
  const watch = () => a.getChildrenWithData(root, () => changes++);
  let children = await watch();
  assert.deepEqual(children.map((c) => JSON.parse(c.data.toString()).nodeId), ['a']);

  const b = await open(zk.connectString);
  const pathB = await b.createEphemeralSequential(`${root}/member-`, JSON.stringify({ nodeId: 'b' }));
  await waitFor('children watch after b registered', () => changes === 1, 5000);
  children = await watch();
  assert.deepEqual(children.map((c) => c.path), [pathA, pathB]);

  // A member updating its data (position, role) wakes the watcher too.
  await b.setData(pathB, JSON.stringify({ nodeId: 'b', position: 42 }));
  await waitFor('data watch after b updated', () => changes === 2, 5000);
  children = await watch();
  assert.equal(JSON.parse(children[1].data.toString()).position, 42);
  assert.equal(children[1].version, 1);

  // A graceful close deletes b's ephemeral at once, not at session expiry.
  await b.close();
  await waitFor('children watch after b closed', () => changes === 3, 5000);
  children = await watch();
  assert.deepEqual(children.map((c) => c.path), [pathA]);
  await assert.rejects(b.getData(pathA), (e: Error & { codeName?: string }) => e.codeName === 'NO_QUORUM');
});

test('re-reading an unchanged group does not pile up watchers; one change wakes every pending reader once', async () => {
  const zk = shared!;
  const root = uniqueZkPath('rewatch');
  const a = await open(zk.connectString);
  await a.ensurePath(root);
  const member = await a.createEphemeralSequential(`${root}/member-`, 'x');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const woken = new Array<number>(30).fill(0);
    // As after every suspension: the group is read again while the earlier watches are still set.
    for (let i = 0; i < woken.length; i++) await a.getChildrenWithData(root, () => woken[i]++);
    await a.setData(member, 'y');
    await waitFor('every pending reader woken', () => woken.every((n) => n === 1), 5000);
    await a.setData(member, 'z');
    await a.getData(member); // a round trip after the second change, so a stray notification would have arrived
    assert.deepEqual(new Set(woken), new Set([1]), 'each reader is woken once, on the first change only');
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  } finally {
    process.off('warning', onWarning);
    await a.close();
  }
});

test('compareAndSet takes an epoch exactly once per version', async () => {
  const zk = shared!;
  const root = uniqueZkPath('epoch');
  const a = await open(zk.connectString);
  await a.ensurePath(root);
  const epochPath = `${root}/epoch`;
  assert.equal(await a.getData(epochPath), null);
  assert.deepEqual(await a.compareAndSet(epochPath, -1, '1'), { ok: true, version: 0 });
  assert.deepEqual(await a.compareAndSet(epochPath, -1, '1'), { ok: false, reason: 'exists' });
  assert.deepEqual(await a.compareAndSet(epochPath, 0, '2'), { ok: true, version: 1 });
  // A second contender that read version 0 loses.
  assert.deepEqual(await a.compareAndSet(epochPath, 0, '2'), { ok: false, reason: 'version-mismatch' });
  assert.deepEqual(await a.compareAndSet(`${root}/nope`, 3, 'x'), { ok: false, reason: 'missing' });
  const cur = await a.getData(epochPath);
  assert.equal(cur?.data.toString(), '2');
  assert.equal(cur?.version, 1);
});

/** A znode's ACL as `scheme:id:perms`, read with a bare client (ZooKeeper asks READ or ADMIN for it). */
async function aclOf(connectString: string, path: string, digestAuth = 'fabric:secret'): Promise<string[]> {
  const c = zookeeper.createClient(connectString, { sessionTimeout: SESSION_TIMEOUT_MS });
  c.addAuthInfo('digest', Buffer.from(digestAuth));
  try {
    await new Promise<void>((resolve) => {
      c.once('connected', () => resolve());
      c.connect();
    });
    const acls = await new Promise<zookeeper.ACL[]>((resolve, reject) => c.getACL(path, (err, a) => (err ? reject(err) : resolve(a))));
    // The runtime field is `permission` (the type definitions say `perms`).
    return acls.map((a) => `${a.id.scheme}:${a.id.id}:${(a as unknown as { permission: number }).permission}`);
  } finally {
    c.close();
  }
}

const isNoAuth = (e: Error & { codeName?: string }): boolean => e.codeName === 'CONFIG_INVALID' && /NoAuth/.test(e.message) && /zkPassword/.test(e.message);

test('zkPassword: the group\'s znodes answer only the same digest identity', async () => {
  const zk = shared!;
  const parent = uniqueZkPath('acl');
  const root = `${parent}/group`;
  const owner = await open(zk.connectString, 10_000, 'fabric:secret');
  await owner.ensurePath(root);
  const member = await owner.createEphemeralSequential(`${root}/member-`, 'owner');
  const epochPath = `${root}/epoch`;
  assert.deepEqual(await owner.compareAndSet(epochPath, -1, '1'), { ok: true, version: 0 });

  // ZooKeeper's digest id: user:base64(sha1(user:password)).
  const { createHash } = await import('node:crypto');
  const digestId = `fabric:${createHash('sha1').update('fabric:secret').digest('base64')}`;
  const all = zookeeper.Permission.ALL;
  for (const p of [root, member, epochPath]) assert.deepEqual(await aclOf(zk.connectString, p), [`digest:${digestId}:${all}`], p);
  // The ancestors stay open: other groups share them.
  assert.deepEqual(await aclOf(zk.connectString, parent), [`world:anyone:${all}`]);

  // The same password from another session: full access (this is how the group's other nodes join).
  const peer = await open(zk.connectString, 10_000, 'fabric:secret');
  assert.deepEqual((await peer.getChildrenWithData(root)).map((c) => c.path), [epochPath, member]);
  const peerMember = await peer.createEphemeralSequential(`${root}/member-`, 'peer');
  assert.deepEqual(await peer.compareAndSet(epochPath, 0, '2'), { ok: true, version: 1 });

  // No password, or a wrong one: every read and write of the group is refused, with the reason.
  for (const auth of [undefined, 'fabric:wrong']) {
    const stranger = await open(zk.connectString, 10_000, auth);
    await assert.rejects(stranger.getData(member), isNoAuth);
    await assert.rejects(stranger.getChildrenWithData(root), isNoAuth);
    await assert.rejects(stranger.createEphemeralSequential(`${root}/member-`, 'intruder'), isNoAuth);
    await assert.rejects(stranger.setData(peerMember, 'x'), isNoAuth);
    await assert.rejects(stranger.compareAndSet(epochPath, 1, '99'), isNoAuth);
    // ensurePath of an existing group is not an error (the node exists; nothing is created).
    await stranger.ensurePath(root);
    // The refusal is an answer: the session itself stays healthy.
    assert.equal(stranger.state, 'connected');
    await stranger.close();
  }
  assert.equal((await owner.getData(epochPath))?.data.toString(), '2');

  // Without a password nothing changes: open ACLs.
  const plain = await open(zk.connectString);
  const openRoot = uniqueZkPath('open');
  await plain.ensurePath(openRoot);
  const openMember = await plain.createEphemeralSequential(`${openRoot}/member-`, 'x');
  for (const p of [openRoot, openMember]) assert.deepEqual(await aclOf(zk.connectString, p), [`world:anyone:${all}`]);
});

test('a frozen server: suspended, then lost, before the session expires; a new session re-registers', async (tc) => {
  const zk = ensemble!;
  const root = uniqueZkPath('freeze');

  // Pin the session to one follower, so that freezing that follower leaves a quorum running.
  let followerId = 0;
  for (const n of zk.nodes) if ((await zk.mode(n.id)) === 'follower') followerId = n.id;
  assert.ok(followerId > 0, 'an ensemble of 3 has a follower');
  const frozenPort = zk.nodes.find((n) => n.id === followerId)!.clientPort;
  const others = zk.nodes.filter((n) => n.id !== followerId).map((n) => `127.0.0.1:${n.clientPort}`).join(',');

  const observer = await open(others);
  await observer.ensurePath(root);
  const victim = await open(`127.0.0.1:${frozenPort}`);
  const registered = await victim.createEphemeralSequential(`${root}/member-`, 'victim');

  const events: Array<{ name: string; atMs: number; silentMs?: number }> = [];
  victim.on('suspended', (info: { silentMs: number }) => events.push({ name: 'suspended', atMs: Date.now(), silentMs: info.silentMs }));
  victim.on('lost', (info: { silentMs: number }) => events.push({ name: 'lost', atMs: Date.now(), silentMs: info.silentMs }));
  victim.on('reconnected', () => events.push({ name: 'reconnected', atMs: Date.now() }));

  // The moment the server side expires the session: its ephemeral disappears for the observer.
  let expiredAtMs = 0;
  const watchGone = async (): Promise<void> => {
    const kids = await observer.getChildrenWithData(root, () => void watchGone().catch(() => {}));
    if (!kids.some((k) => k.path === registered) && expiredAtMs === 0) expiredAtMs = Date.now();
  };
  await watchGone();
  assert.equal(expiredAtMs, 0);

  const frozenAtMs = Date.now();
  await zk.killNode(followerId, 'SIGSTOP');
  try {
    const suspended = await waitFor('suspended', () => events.find((e) => e.name === 'suspended'), 3 * SESSION_TIMEOUT_MS);
    const lost = await waitFor('lost', () => events.find((e) => e.name === 'lost'), 3 * SESSION_TIMEOUT_MS);
    await waitFor('the server side to expire the frozen session', () => expiredAtMs > 0, 5 * SESSION_TIMEOUT_MS);
    const t = {
      suspendedMs: suspended.atMs - frozenAtMs,
      lostMs: lost.atMs - frozenAtMs,
      expiredMs: expiredAtMs - frozenAtMs,
    };
    tc.diagnostic(`frozen server (session ${SESSION_TIMEOUT_MS} ms): ${JSON.stringify(t)}`);
    assert.deepEqual(events.map((e) => e.name), ['suspended', 'lost']);
    assert.equal(victim.state, 'lost');
    // Silence since the last answer when we suspended: under the timeout, so the server side
    // cannot have expired the session yet.
    // The watchdog suspends at floor(2/3 of the timeout) of silence (SessionLiveness.suspendAfterMs).
    assert.ok(suspended.silentMs! >= Math.floor((2 * SESSION_TIMEOUT_MS) / 3) && suspended.silentMs! < SESSION_TIMEOUT_MS, `silentMs ${suspended.silentMs}`);
    // Bounds from the freeze: at least 2/3 T minus one probe interval, and well before T + slack.
    assert.ok(t.suspendedMs >= SESSION_TIMEOUT_MS / 2 - 50 && t.suspendedMs < SESSION_TIMEOUT_MS + 300, `suspended after ${t.suspendedMs} ms`);
    assert.ok(t.lostMs >= (5 * SESSION_TIMEOUT_MS) / 6 - 50 && t.lostMs < SESSION_TIMEOUT_MS + 700, `lost after ${t.lostMs} ms`);
    // Fencing order: the owner was told to stop before anyone could see the member gone.
    assert.ok(suspended.atMs < expiredAtMs, `suspended at ${t.suspendedMs} ms, expired at ${t.expiredMs} ms`);
    await assert.rejects(victim.setData(registered, 'x'), (e: Error & { codeName?: string }) => e.codeName === 'NO_QUORUM');

    // The owner opens a new session (the frozen server is still in the list; a connect that
    // lands on it times out and is retried) and registers again.
    const fresh = await waitFor(
      'a new session',
      async () => open(zk.connectString, SESSION_TIMEOUT_MS * 2).catch(() => null),
      20_000,
      0,
    );
    const again = await fresh.createEphemeralSequential(`${root}/member-`, 'victim');
    const kids = await fresh.getChildrenWithData(root);
    assert.deepEqual(kids.map((k) => k.path), [again]);
  } finally {
    await zk.killNode(followerId, 'SIGCONT');
  }
  // Once thawed, the old server serves again and the ensemble is whole.
  await zk.waitServing(followerId, 20_000);
});

test('a killed server: suspended at once, then reconnected on another server within the same session', async (tc) => {
  const zk = ensemble!;
  const root = uniqueZkPath('kill');
  // Followers only: killing the leader would add a re-election to what is measured.
  // The previous test thawed a server; wait until the ensemble is whole again.
  const followers = await waitFor(
    'a leader and two followers',
    async () => {
      const found: Array<{ id: number; clientPort: number }> = [];
      let leaders = 0;
      for (const n of zk.nodes) {
        const mode = await zk.mode(n.id);
        if (mode === 'follower') found.push(n);
        if (mode === 'leader') leaders++;
      }
      return found.length === 2 && leaders === 1 ? found : null;
    },
    30_000,
    200,
  );
  const s = await open(followers.map((f) => `127.0.0.1:${f.clientPort}`).join(','));
  await s.ensurePath(root);
  const registered = await s.createEphemeralSequential(`${root}/member-`, 'kept');
  const sessionId = s.sessionId;

  // Which follower holds our connection: `cons` lists each connection's session id.
  const { fourLetter } = await import('../../scripts/zookeeper.mjs');
  let connectedTo = 0;
  for (const f of followers) {
    const cons = (await fourLetter(f.clientPort, 'cons')) ?? '';
    if (cons.includes(`sid=0x${sessionId.replace(/^0+/, '')}`)) connectedTo = f.id;
  }
  assert.ok(connectedTo > 0, `session 0x${sessionId} found on a follower`);

  const events: Array<{ name: string; atMs: number }> = [];
  for (const name of ['suspended', 'reconnected', 'lost']) s.on(name, () => events.push({ name, atMs: Date.now() }));
  const killedAtMs = Date.now();
  await zk.killNode(connectedTo, 'SIGKILL');
  try {
    await waitFor('reconnected', () => events.some((e) => e.name === 'reconnected'), 3 * SESSION_TIMEOUT_MS);
    const t = Object.fromEntries(events.map((e) => [e.name, e.atMs - killedAtMs]));
    tc.diagnostic(`killed server (session ${SESSION_TIMEOUT_MS} ms): ${JSON.stringify(t)}`);
    assert.deepEqual(events.map((e) => e.name), ['suspended', 'reconnected']);
    assert.ok(t.suspended < 500, `suspended ${t.suspended} ms after the kill`);
    assert.equal(s.state, 'connected');
    assert.equal(s.sessionId, sessionId);
    // The same session, so its registration survived.
    const kids = await s.getChildrenWithData(root);
    assert.deepEqual(kids.map((k) => k.path), [registered]);
  } finally {
    await zk.startNode(connectedTo);
  }
});
