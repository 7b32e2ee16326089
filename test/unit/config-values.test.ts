import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig, findPolicy, parseDurationMs, parseSizeBytes, validateConfig } from '../../src/config/index.js';
import type { PolicyEntry } from '../../src/config/types.js';
import { parseConnectorUri } from '../../src/config/connector-uri.js';
import { resolvePlaceholders } from '../../src/config/placeholders.js';
import { nearestName } from '../../src/config/suggest.js';
import { isQmqError } from '../../src/util/errors.js';

const MiB = 1024 * 1024;

test('sizes in ActiveMQ forms', () => {
  const table: [string, number | undefined][] = [
    ['100', 100], ['100 b', 100], ['64kb', 64 * 1024], ['64 KB', 64 * 1024], ['64k', 64 * 1024], ['100 mb', 100 * MiB],
    ['100m', 100 * MiB], ['1gb', 1024 * MiB], [' 1 GB ', 1024 * MiB], ['1.5gb', undefined], ['-1', undefined], ['mb', undefined],
    ['10 megabytes', undefined], ['', undefined],
  ];
  for (const [text, bytes] of table) assert.equal(parseSizeBytes(text), bytes, text);
});

test('durations: plain milliseconds and units', () => {
  const table: [string, number | undefined][] = [
    ['5000', 5000], ['2s', 2000], ['2 s', 2000], ['500ms', 500], ['1m', 60_000], ['1h', 3_600_000], ['2.5s', undefined], ['soon', undefined],
  ];
  for (const [text, ms] of table) assert.equal(parseDurationMs(text), ms, text);
});

test('connector URIs', () => {
  const ok = parseConnectorUri('s', 'stomp+nio+ssl://example.org:61612?transport.hbGracePeriodMultiplier=1.5&needClientAuth=true');
  assert.ok(ok.ok);
  if (!ok.ok) return;
  assert.deepEqual(ok.connector, {
    name: 's', uri: 'stomp+nio+ssl://example.org:61612?transport.hbGracePeriodMultiplier=1.5&needClientAuth=true',
    scheme: 'stomp+nio+ssl', host: 'example.org', port: 61612,
    options: { 'transport.hbGracePeriodMultiplier': '1.5', needClientAuth: 'true' },
  });
  const bad: [string, boolean, RegExp][] = [
    ['mqtt+ws://0.0.0.0:1884', true, /scheme "mqtt\+ws" is not supported yet/],
    ['auto://0.0.0.0:5671', true, /scheme "auto" is not supported yet/],
    ['gopher://h:70', true, /scheme "gopher" is unknown/],
    ['stomp://h:99999', false, /out of range/],
    ['stomp://h', false, /a port is required/],
    ['not a uri', false, /not a URI/],
  ];
  for (const [uri, unsupported, re] of bad) {
    const r = parseConnectorUri('c', uri);
    assert.ok(!r.ok, uri);
    if (r.ok) continue;
    assert.equal(r.unsupported, unsupported, uri);
    assert.match(r.message, re);
  }
});

test('placeholder lookup and nearest-name suggestions', () => {
  const sources = { set: { a: 'S' }, env: { a: 'E', B_C: 'bc' }, builtIns: { a: 'I', d: 'D' } };
  assert.deepEqual(resolvePlaceholders('${a}/${b.c}/${d}/${e:dflt}', sources), { ok: true, value: 'S/bc/D/dflt' });
  const missing = resolvePlaceholders('x${nope}', sources);
  assert.ok(!missing.ok && /--set nope=VALUE or the environment variable NOPE/.test(missing.message));
  assert.equal(nearestName('replcas', ['replicas', 'bind']), 'replicas');
  assert.equal(nearestName('zkPth', ['zkPath', 'zkAddress']), 'zkPath');
  assert.equal(nearestName('xyz', ['replicas', 'bind']), undefined);
});

test('findPolicy: ActiveMQ wildcards, temp destinations, most specific wins', () => {
  const policies: PolicyEntry[] = [
    { queue: '>', prioritizedMessages: false },
    { queue: 'orders.>', prioritizedMessages: false },
    { queue: 'orders.*', prioritizedMessages: false },
    { queue: 'orders.*.eu', prioritizedMessages: false },
    { queue: 'orders.new.eu', prioritizedMessages: false },
    { queue: '*.new.*', prioritizedMessages: false },
    { queue: 'a.>,b.>', prioritizedMessages: false },
    { topic: 'events.>', prioritizedMessages: false },
    { topic: 'events.>', prioritizedMessages: true },
  ];
  const table: [kind: 'queue' | 'topic' | 'temp-queue' | 'temp-topic', name: string, index: number | undefined][] = [
    ['queue', 'anything', 0],
    ['queue', 'orders', 1], // `>` also matches nothing, as in ActiveMQ's PrefixDestinationFilter
    ['queue', 'orders.new', 2], // one literal + one star beats one literal + `>`
    ['queue', 'orders.x.y', 1],
    ['queue', 'orders.x.eu', 3],
    ['queue', 'orders.new.eu', 4], // exact name
    ['queue', 'orders.new.us', 5], // same literal count; `*.new.*` has more `*` segments than `orders.>`
    ['queue', 'b.c', 6], // composite pattern
    ['temp-queue', 'ID:host-1:1', 0],
    ['topic', 'events.x', 7], // tie: the first declared wins
    ['topic', 'other', undefined],
    ['temp-topic', 'events.tmp', 7],
  ];
  for (const [kind, name, index] of table) {
    const found = findPolicy(policies, { kind, name });
    assert.equal(found === undefined ? undefined : policies.indexOf(found), index, `${kind} ${name}`);
  }
  assert.equal(findPolicy([], { kind: 'queue', name: 'x' }), undefined);
});

test('defaultConfig: what `quorummq start` runs with no config', () => {
  assert.deepEqual(defaultConfig(), {
    brokerName: 'localhost',
    dataDirectory: './data',
    transportConnectors: [
      { name: 'openwire', uri: 'tcp://127.0.0.1:61616', scheme: 'tcp', host: '127.0.0.1', port: 61616, options: {} },
      { name: 'stomp', uri: 'stomp://127.0.0.1:61613', scheme: 'stomp', host: '127.0.0.1', port: 61613, options: {} },
      { name: 'ws', uri: 'ws://127.0.0.1:61614', scheme: 'ws', host: '127.0.0.1', port: 61614, options: {} },
    ],
    persistence: {
      kind: 'journal', flavour: 'default', directory: './data/journal', journalMaxFileLengthBytes: 32 * MiB,
      checkpointIntervalMs: 5000, enableJournalDiskSyncs: true,
    },
    policies: [],
    defaultRedeliveryPolicy: { maximumRedeliveries: 6, redeliveryDelayMs: 0 },
    memoryLimitBytes: 64 * MiB,
    stomp: { maxBodyBytes: 100 * MiB, maxHeaderBytes: 64 * 1024, maxHeaders: 1000, frameTimeoutMs: 30_000 },
    virtualTopics: [{ name: 'VirtualTopic.>', prefix: 'Consumer.*.', postfix: '' }],
    http: { host: '127.0.0.1', port: 8161 },
    source: '<defaults>',
  });
});

test('defaultConfig: overrides merge deeply; the store follows dataDirectory; another kind starts from its defaults', () => {
  const c = defaultConfig({ dataDirectory: '/tmp/q', stomp: { maxHeaders: 10 }, http: { port: 0 } });
  assert.equal(c.persistence.kind === 'journal' && c.persistence.directory, '/tmp/q/journal');
  assert.equal(c.stomp.maxHeaders, 10);
  assert.equal(c.stomp.maxBodyBytes, 100 * MiB);
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 0 });
  const r = defaultConfig({ dataDirectory: '/q', persistence: { kind: 'replicatedLevelDB', zkAddress: 'zk:2181' } });
  assert.equal(r.persistence.kind, 'replicatedLevelDB');
  if (r.persistence.kind === 'replicatedLevelDB') {
    assert.equal(r.persistence.directory, '/q/leveldb');
    assert.equal(r.persistence.zkAddress, 'zk:2181');
    assert.equal(r.persistence.replicas, 3);
  }
  assert.deepEqual(defaultConfig({ persistence: { kind: 'memory' } }).persistence, { kind: 'memory' });
  assert.throws(() => defaultConfig({ memoryLimitBytes: -1 }), /memoryLimitBytes/);
});

test('validateConfig: code-built configs get every bad path listed with what was expected', () => {
  const c = defaultConfig() as unknown as Record<string, any>;
  c.persistence = {
    kind: 'replicatedLevelDB', directory: '/d', replcas: 3, replicas: 0, bind: 'tcp://0.0.0.0:61619', zkAddress: 'zk', zkPath: '/p',
    zkSessionTimeoutMs: 2000, weight: 1, sync: ['quorum_dsk'], syncTimeoutMs: 1000,
  };
  c.http = { host: '127.0.0.1', port: 70000 };
  c.policies = [{ queue: 'a.>.b', prioritizedMessages: false }];
  assert.throws(
    () => validateConfig(c, 'embedded'),
    (e: unknown) => {
      assert.ok(isQmqError(e));
      assert.equal(e.codeName, 'CONFIG_INVALID');
      assert.match(e.message, /^embedded: invalid broker config:/);
      assert.match(e.message, /persistence\.replicas: .*>=1/);
      assert.match(e.message, /persistence\.replcas: unknown key; did you mean "replicas"\?/);
      assert.match(e.message, /persistence\.sync\[0\]: .*"local_mem"\|"local_disk"\|"remote_mem"\|"remote_disk"\|"quorum_mem"\|"quorum_disk"/);
      assert.match(e.message, /http\.port: .*<=65535/);
      assert.match(e.message, /policies\[0\]\.queue: "a\.>\.b": ">" may only be the last segment/);
      return true;
    },
  );
});

test('validateConfig: discriminator, exclusive queue/topic, duplicate connectors, missing source', () => {
  const bad = (patch: (c: Record<string, any>) => void, re: RegExp) => {
    const c = defaultConfig() as unknown as Record<string, any>;
    patch(c);
    assert.throws(() => validateConfig(c), re);
  };
  bad((c) => (c.persistence = { kind: 'rocksdb' }), /persistence\.kind: .*'memory' \| 'journal' \| 'replicatedLevelDB' \| 'jdbc'/);
  bad((c) => (c.policies = [{ queue: '>', topic: '>', prioritizedMessages: false }]), /policies\[0\]: set exactly one of "queue" and "topic"/);
  bad((c) => (c.transportConnectors[2] = { ...c.transportConnectors[1] }), /duplicate connector name "stomp"/);
  bad((c) => (c.transportConnectors[2] = { ...c.transportConnectors[1], name: 'x' }), /connectors "stomp" and "x" both listen on 127\.0\.0\.1:61613/);
  bad((c) => (c.transportConnectors[0].scheme = 'amqp'), /transportConnectors\[0\]\.scheme: .*"stomp"/);
  const noSource = defaultConfig() as unknown as Record<string, unknown>;
  delete noSource.source;
  assert.equal(validateConfig(noSource).source, '<code>');
  assert.throws(() => validateConfig(null), /<code>: invalid broker config/);
});
