import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedGroups, authorizationFailure } from '../../src/broker/authorization.js';
import type { AuthorizationConfig } from '../../src/config/types.js';
import { QmqError } from '../../src/util/errors.js';
import { Collector, openKit, queue, sendReq, subReq, topic } from './broker-test-kit.js';

const acl = (read: string, write: string, admin: string) => ({ read: read ? read.split(',') : [], write: write ? write.split(',') : [], admin: admin ? admin.split(',') : [] });

/** The shape of ActiveMQ's documented example map. */
const MAP: AuthorizationConfig = {
  entries: [
    { kind: 'queue', pattern: '>', ...acl('admins', 'admins', 'admins') },
    { kind: 'queue', pattern: 'USERS.>', ...acl('users', 'users', 'users') },
    { kind: 'queue', pattern: 'GUEST.>', ...acl('guests', 'guests,users', 'guests,users') },
    { kind: 'queue', pattern: 'PUBLIC', ...acl('*', '', '') },
    { kind: 'topic', pattern: '>', ...acl('admins', 'admins', 'admins') },
    { kind: 'topic', pattern: 'ActiveMQ.Advisory.>', ...acl('guests,users', 'guests,users', 'guests,users') },
  ],
  temp: acl('tempDestinationAdmins', 'tempDestinationAdmins', 'tempDestinationAdmins'),
};

const admin = { user: 'system', groups: ['admins'] };
const user = { user: 'app', groups: ['users'] };
const guest = { user: 'guest', groups: ['guests'] };
const nobody = { user: 'anonymous', groups: ['anonymous'] };

test('authorizationFailure: ActiveMQ\'s documented map, operation by operation', () => {
  const rows: Array<[string, typeof admin, 'queue' | 'topic' | 'temp-queue', string, 'read' | 'write' | 'admin', boolean]> = [
    ['admins read any queue (>)', admin, 'queue', 'orders', 'read', true],
    ['users read USERS.> (union with >)', user, 'queue', 'USERS.inbox', 'read', true],
    ['admins also read USERS.> (the > entry matches too)', admin, 'queue', 'USERS.inbox', 'read', true],
    ['users may not read other queues', user, 'queue', 'orders', 'read', false],
    ['users write GUEST.>', user, 'queue', 'GUEST.box', 'write', true],
    ['guests do not read USERS.>', guest, 'queue', 'USERS.inbox', 'read', false],
    ['* lets everyone read PUBLIC', nobody, 'queue', 'PUBLIC', 'read', true],
    ['nobody but admins writes PUBLIC', user, 'queue', 'PUBLIC', 'write', false],
    ['queue entries say nothing about topics', user, 'topic', 'USERS.news', 'read', false],
    ['advisory topics for users', user, 'topic', 'ActiveMQ.Advisory.Queue', 'read', true],
    ['temporary destinations follow the temp entry', user, 'temp-queue', 'ID:x:1:1', 'write', false],
    ['a wildcard subscription within USERS.>', user, 'queue', 'USERS.>', 'read', true],
  ];
  for (const [what, who, kind, name, op, allowed] of rows) {
    const refused = authorizationFailure(MAP, who, { kind, name }, op);
    assert.equal(refused === null, allowed, `${what}: ${refused}`);
  }
});

test('refusals use ActiveMQ\'s words; a composite needs every name', () => {
  assert.equal(authorizationFailure(MAP, user, queue('orders'), 'write'), 'User app is not authorized to write to: queue://orders');
  assert.equal(authorizationFailure(MAP, user, queue('orders'), 'read'), 'User app is not authorized to read from: queue://orders');
  assert.equal(authorizationFailure(MAP, user, queue('orders'), 'admin'), 'User app is not authorized to create: queue://orders');
  assert.equal(authorizationFailure(MAP, user, queue('USERS.a,USERS.b'), 'write'), null);
  assert.match(authorizationFailure(MAP, user, queue('USERS.a,orders'), 'write') ?? '', /not authorized to write to/);
});

test('allowedGroups: no temp entry leaves temporary destinations open; a default entry adds to every destination', () => {
  const open: AuthorizationConfig = { entries: [{ kind: 'queue', pattern: 'a', ...acl('x', 'x', 'x') }], defaultEntry: acl('d', 'd', 'd') };
  assert.equal(allowedGroups(open, { kind: 'temp-topic', name: 'ID:1' }, 'read'), null);
  assert.deepEqual([...allowedGroups(open, queue('a'), 'read')!].sort(), ['d', 'x']);
  assert.deepEqual([...allowedGroups(open, queue('b'), 'read')!], ['d']);
  assert.deepEqual([...allowedGroups({ entries: [] }, queue('b'), 'read')!], [], 'no entry: an empty set, which refuses');
});

test('the core applies the map: write, read, and admin to create a destination that does not exist yet', async () => {
  const { core } = await openKit({
    authentication: {
      anonymousAccessAllowed: true,
      users: [
        { username: 'system', password: 's', groups: ['admins'] },
        { username: 'app', password: 'a', groups: ['users'] },
      ],
    },
    authorization: {
      entries: [
        { kind: 'queue', pattern: '>', ...acl('admins', 'admins', 'admins') },
        { kind: 'queue', pattern: 'USERS.>', ...acl('users', 'users', '') },
        { kind: 'topic', pattern: '>', ...acl('admins,anonymous', 'admins', 'admins') },
      ],
    },
  });
  const app = core.connect({ login: 'app', passcode: 'a', remoteAddress: 't', protocol: 'test' });
  const sys = core.connect({ login: 'system', passcode: 's', remoteAddress: 't', protocol: 'test' });
  const anon = core.connect({ remoteAddress: 't', protocol: 'test' });
  const refusedWith = (pattern: RegExp) => (e: unknown) => e instanceof QmqError && e.codeName === 'NOT_AUTHORIZED' && pattern.test(e.message);

  await assert.rejects(app.send(sendReq(queue('orders'), 'x')), refusedWith(/^User app is not authorized to write to: queue:\/\/orders$/));
  // USERS.> grants write but not admin: the queue must exist first, as in ActiveMQ.
  await assert.rejects(app.send(sendReq(queue('USERS.new'), 'x')), refusedWith(/^User app is not authorized to create: queue:\/\/USERS\.new$/));
  await sys.send(sendReq(queue('USERS.new'), 'made by an admin'));
  await app.send(sendReq(queue('USERS.new'), 'now it exists'));
  const c = new Collector();
  app.subscribe(subReq('s', queue('USERS.new'), { ackMode: 'auto' }), c);
  assert.throws(() => app.subscribe(subReq('t', queue('orders')), new Collector()), refusedWith(/read from: queue:\/\/orders/));
  assert.throws(() => anon.subscribe(subReq('u', queue('USERS.new')), new Collector()), refusedWith(/^User anonymous is not authorized to read from/));
  // The anonymous group reads topics, but creating one is admin's: an admin's subscription makes it first.
  assert.throws(() => anon.subscribe(subReq('v', topic('news')), new Collector()), refusedWith(/create: topic:\/\/news/));
  sys.subscribe(subReq('w', topic('news'), { ackMode: 'auto' }), new Collector());
  anon.subscribe(subReq('v', topic('news'), { ackMode: 'auto' }), new Collector());
  await assert.rejects(app.deleteDestination(queue('USERS.new')), refusedWith(/not authorized to remove: queue:\/\/USERS\.new/));
  await core.close();
});
