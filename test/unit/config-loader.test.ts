import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { loadConfigFile, parseConfigXml } from '../../src/config/index.js';
import { isQmqError } from '../../src/util/errors.js';

const FIXTURES = 'test/fixtures/config';
const noEnv = { env: {} };

test('the seed broker element and replicatedLevelDB block load with the typed values', () => {
  const { config, warnings } = loadConfigFile(`${FIXTURES}/seed-replicated-leveldb.xml`, { env: {}, dataDir: '/srv/amq' });
  assert.equal(config.brokerName, 'ppgmq');
  assert.equal(config.dataDirectory, '/srv/amq');
  assert.deepEqual(config.persistence, {
    kind: 'replicatedLevelDB',
    directory: '/srv/amq/leveldb',
    replicas: 3,
    bind: 'tcp://0.0.0.0:61619',
    zkAddress: '150.158.153.216:2181,39.107.112.172:2181,115.28.211.227:2181',
    zkPath: '/activemq/leveldb-stores',
    zkSessionTimeoutMs: 2000,
    weight: 1,
    sync: ['local_disk'],
    syncTimeoutMs: 30_000,
    journalMaxFileLengthBytes: 32 * 1024 * 1024,
  });
  assert.deepEqual(config.transportConnectors.map((c) => [c.name, c.scheme, c.host, c.port]), [['stomp', 'stomp', '0.0.0.0', 61613]]);
  assert.deepEqual(warnings, []);
});

test('replicatedLevelDB: every mapped attribute, durations and sync lists', () => {
  const xml = `<broker brokerName="g" dataDirectory="/d"><persistenceAdapter>
    <replicatedLevelDB directory="/d/x" replicas="5" bind="tcp://10.0.0.1:7000" zkAddress="zk1:2181,zk2" zkPassword="pw"
      zkPath="/qmq" zkSessionTimeout="4s" hostname="node1" weight="3" securityToken="tok" sync="quorum_mem, local_disk" syncTimeout="1500ms"
      logSize="1 mb" verifyChecksums="true"/>
  </persistenceAdapter></broker>`;
  const { config, warnings } = parseConfigXml(xml, 'inline.xml', noEnv);
  assert.deepEqual(config.persistence, {
    kind: 'replicatedLevelDB', directory: '/d/x', replicas: 5, bind: 'tcp://10.0.0.1:7000', zkAddress: 'zk1:2181,zk2',
    zkPassword: 'pw', zkPath: '/qmq', zkSessionTimeoutMs: 4000, hostname: 'node1', weight: 3, securityToken: 'tok',
    sync: ['quorum_mem', 'local_disk'], syncTimeoutMs: 1500, journalMaxFileLengthBytes: 1024 * 1024,
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /inline\.xml:2: <replicatedLevelDB> attribute verifyChecksums has no effect/);
});

test('replicatedLevelDB defaults follow DESIGN §4', () => {
  const { config } = parseConfigXml('<broker><persistenceAdapter><replicatedLevelDB/></persistenceAdapter></broker>', 'x.xml', noEnv);
  assert.equal(config.persistence.kind, 'replicatedLevelDB');
  if (config.persistence.kind !== 'replicatedLevelDB') return;
  assert.equal(config.persistence.replicas, 3);
  assert.equal(config.persistence.bind, 'tcp://0.0.0.0:61619');
  assert.deepEqual(config.persistence.sync, ['quorum_disk']);
  assert.equal(config.persistence.zkSessionTimeoutMs, 2000);
  assert.equal(config.persistence.directory, './data/leveldb');
});

test('an ActiveMQ 5.17-shaped activemq.xml loads with ignoreUnsupportedConnectors and says what it ignored', () => {
  const path = `${FIXTURES}/activemq-5.17-default.xml`;
  const { config, warnings } = loadConfigFile(path, { env: {}, ignoreUnsupportedConnectors: true });
  assert.equal(config.brokerName, 'localhost');
  assert.deepEqual(config.persistence, {
    kind: 'journal', flavour: 'kahaDB', directory: './data/kahadb', journalMaxFileLengthBytes: 32 * 1024 * 1024,
    checkpointIntervalMs: 5000, enableJournalDiskSyncs: true,
  });
  assert.deepEqual(config.transportConnectors.map((c) => `${c.name} ${c.scheme}://${c.host}:${c.port}`), [
    'openwire tcp://0.0.0.0:61616',
    'stomp stomp://0.0.0.0:61613',
    'mqtt mqtt://0.0.0.0:1883',
    'ws ws://0.0.0.0:61614',
  ]);
  // `&amp;` in the URI is decoded by the XML parser, then split into options.
  assert.deepEqual(config.transportConnectors[1].options, { maximumConnections: '1000', 'wireFormat.maxFrameSize': '104857600' });
  assert.deepEqual(config.policies, [{ topic: '>', prioritizedMessages: false }]);
  assert.equal(config.memoryLimitBytes, 64 * 1024 * 1024);

  const spring = warnings.filter((w) => w.includes('skipped Spring parts'));
  assert.equal(spring.length, 1, 'one warning for all Spring-only parts');
  assert.match(spring[0], /<bean id="logQuery" class="io\.fabric8[^"]*"> \(line 20\)/);
  assert.match(spring[0], /<import resource="jetty\.xml"> \(line 80\)/);
  assert.doesNotMatch(spring[0], /PropertyPlaceholderConfigurer/);
  const has = (re: RegExp) => assert.ok(warnings.some((w) => re.test(w)), `expected a warning matching ${re}\n${warnings.join('\n')}`);
  has(/<managementContext> \(line 41\), <shutdownHooks> \(line 73\) in <broker> have no effect/);
  has(/:66: connector "amqp" .*scheme "amqp" is not supported yet.*skipped/);
  has(/<pendingMessageLimitStrategy> \(line 32\) in <policyEntry>/);
  has(/<storeUsage> \(line 54\), <tempUsage> \(line 57\) in <systemUsage>/);
  has(/:52: <memoryUsage> attribute percentOfJvmHeap has no effect/);
  assert.equal(warnings.length, 6);
  // ActiveMQ's stock MQTT connector is served now.
  assert.equal(config.transportConnectors.find((c) => c.name === 'mqtt')?.scheme, 'mqtt');
});

test('the same file without ignoreUnsupportedConnectors fails naming the amqp connector and what to do', () => {
  assert.throws(
    () => loadConfigFile(`${FIXTURES}/activemq-5.17-default.xml`, noEnv),
    (e: unknown) => {
      assert.ok(isQmqError(e));
      assert.equal(e.codeName, 'CONFIG_UNSUPPORTED');
      assert.match(e.message, /activemq-5\.17-default\.xml:66: connector "amqp" \(amqp:\/\/0\.0\.0\.0:5672/);
      assert.match(e.message, /Supported schemes: tcp, nio, ssl, nio\+ssl, stomp, stomp\+nio, stomp\+ssl, stomp\+nio\+ssl, ws, wss/);
      assert.match(e.message, /Remove the connector or change it to one of those/);
      assert.match(e.message, /--ignore-unsupported-connectors/);
      return true;
    },
  );
});

test('kahaDB: mapped attributes, ignored tuning attributes warn', () => {
  const xml = `<broker dataDirectory="/d"><persistenceAdapter>
    <kahaDB directory="/k" journalMaxFileLength="16mb" checkpointInterval="2000" enableJournalDiskSyncs="false"
            indexCacheSize="20000" indexWriteBatchSize="1000" concurrentStoreAndDispatchQueues="false"/>
  </persistenceAdapter></broker>`;
  const { config, warnings } = parseConfigXml(xml, 'k.xml', noEnv);
  assert.deepEqual(config.persistence, {
    kind: 'journal', flavour: 'kahaDB', directory: '/k', journalMaxFileLengthBytes: 16 * 1024 * 1024, checkpointIntervalMs: 2000,
    enableJournalDiskSyncs: false, indexCacheSize: 20000,
  });
  assert.deepEqual(warnings, ['k.xml:2: <kahaDB> attributes indexWriteBatchSize, concurrentStoreAndDispatchQueues have no effect in QuorumMQ and are ignored']);
});

test('kahaDB journalDiskSyncStrategy maps onto disk syncs', () => {
  for (const [strategy, syncs] of [['never', false], ['always', true], ['periodic', true]] as const) {
    const { config } = parseConfigXml(`<broker><persistenceAdapter><kahaDB journalDiskSyncStrategy="${strategy}"/></persistenceAdapter></broker>`, 'k.xml', noEnv);
    assert.equal(config.persistence.kind === 'journal' && config.persistence.enableJournalDiskSyncs, syncs, strategy);
  }
});

test('levelDB maps to the journal store; IPv6 connector host is unbracketed', () => {
  const { config, warnings } = loadConfigFile(`${FIXTURES}/leveldb-tuned.xml`, noEnv);
  assert.deepEqual(config.persistence, {
    kind: 'journal', flavour: 'levelDB', directory: '/var/lib/qmq/ldb', journalMaxFileLengthBytes: 64 * 1024 * 1024,
    checkpointIntervalMs: 5000, enableJournalDiskSyncs: false,
  });
  assert.equal(config.transportConnectors[0].host, '::');
  assert.equal(config.transportConnectors[0].port, 61614);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /verifyChecksums, paranoidChecks, indexFactory have no effect/);
});

test('jdbc: the <bean> data source becomes a postgres:// connection string', () => {
  const { config, warnings } = loadConfigFile(`${FIXTURES}/jdbc-postgres.xml`, { env: {}, set: { 'db.password': 's3cret/+' } });
  assert.deepEqual(config.persistence, {
    kind: 'jdbc',
    connectionString: 'postgres://amq:s3cret%2F%2B@db.example:5433/activemq',
    tablePrefix: 'QMQ_',
    lockKeepAlivePeriodMs: 3000,
    lockAcquireSleepIntervalMs: 9000,
    createTablesOnStartup: false,
  });
  assert.equal(config.transportConnectors[0].scheme, 'stomp+nio');
  // The data source bean and the placeholder configurer are not "skipped" parts.
  assert.ok(!warnings.some((w) => w.includes('skipped Spring parts')), warnings.join('\n'));
  assert.ok(warnings.some((w) => /<broker> attribute useJmx has no effect/.test(w)));
  assert.ok(warnings.some((w) => /<jdbcPersistenceAdapter> attribute cleanupPeriod has no effect/.test(w)));
});

test('jdbc: PGSimpleDataSource properties and a direct postgres:// dataSource', () => {
  const viaBean = `<beans><bean id="pg" class="org.postgresql.ds.PGSimpleDataSource">
      <property name="serverName" value="h"/><property name="databaseName"><value>q</value></property>
      <property name="user" value="u"/></bean>
    <broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="#pg"/></persistenceAdapter></broker></beans>`;
  const a = parseConfigXml(viaBean, 'j.xml', noEnv).config.persistence;
  assert.equal(a.kind === 'jdbc' && a.connectionString, 'postgres://u@h/q');
  const direct = '<broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="postgres://x@y/z"/></persistenceAdapter></broker>';
  const b = parseConfigXml(direct, 'j.xml', noEnv).config.persistence;
  assert.equal(b.kind === 'jdbc' && b.connectionString, 'postgres://x@y/z');
});

test('jdbc: a keep-alive not shorter than the lease is an error; the locker sets the lease length', () => {
  const xml = '<broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="postgres://h/d" lockKeepAlivePeriod="20000"/></persistenceAdapter></broker>';
  assert.throws(() => parseConfigXml(xml, 'j.xml', noEnv), /lockKeepAlivePeriod \(20000 ms\) must be shorter than lockAcquireSleepInterval \(10000 ms/);
  const locker =
    '<broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="postgres://h/d" lockKeepAlivePeriod="20000">' +
    '<locker><lease-database-locker lockAcquireSleepInterval="60000"/></locker></jdbcPersistenceAdapter></persistenceAdapter></broker>';
  const p = parseConfigXml(locker, 'j.xml', noEnv).config.persistence;
  assert.equal(p.kind === 'jdbc' && p.lockAcquireSleepIntervalMs, 60000);
});

test('jdbc: PGPoolingDataSource with serverName, portNumber, databaseName, user and password', () => {
  const xml = `<beans><bean id="pg-ds" class="org.postgresql.ds.PGPoolingDataSource">
      <property name="serverName" value="db1"/><property name="portNumber" value="5433"/>
      <property name="databaseName" value="activemq"/><property name="user" value="amq"/><property name="password" value="p@ss"/></bean>
    <broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="#pg-ds"/></persistenceAdapter></broker></beans>`;
  const p = parseConfigXml(xml, 'j.xml', noEnv).config.persistence;
  assert.equal(p.kind === 'jdbc' && p.connectionString, 'postgres://amq:p%40ss@db1:5433/activemq');
});

test("jdbc: another vendor's driver or data source class is a clear error", () => {
  const withDriver = `<beans><bean id="ds" class="org.apache.commons.dbcp2.BasicDataSource">
      <property name="driverClassName" value="com.mysql.cj.jdbc.Driver"/><property name="url" value="jdbc:postgresql://h/d"/></bean>
    <broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="#ds"/></persistenceAdapter></broker></beans>`;
  assert.throws(() => parseConfigXml(withDriver, 'j.xml', noEnv), /driverClassName "com\.mysql\.cj\.jdbc\.Driver" is not PostgreSQL's/);
  const oracle = `<beans><bean id="ds" class="oracle.jdbc.pool.OracleDataSource"><property name="URL" value="jdbc:postgresql://h/d"/></bean>
    <broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="#ds"/></persistenceAdapter></broker></beans>`;
  assert.throws(() => parseConfigXml(oracle, 'j.xml', noEnv), /class="oracle\.jdbc\.pool\.OracleDataSource"> is another database vendor's data source/);
  const pgPool = withDriver.replace('com.mysql.cj.jdbc.Driver', 'org.postgresql.Driver');
  const ok = parseConfigXml(pgPool, 'j.xml', noEnv).config.persistence;
  assert.equal(ok.kind === 'jdbc' && ok.connectionString, 'postgres://h/d');
});

test('persistent="false" gives the memory store; no persistenceAdapter gives the default journal', () => {
  const mem = parseConfigXml('<broker persistent="false"><persistenceAdapter><kahaDB/></persistenceAdapter></broker>', 'm.xml', noEnv);
  assert.deepEqual(mem.config.persistence, { kind: 'memory' });
  assert.match(mem.warnings.join('\n'), /persistent="false".*ignored/);
  const dflt = parseConfigXml('<broker dataDirectory="/x/"/>', 'd.xml', noEnv).config.persistence;
  assert.equal(dflt.kind === 'journal' && `${dflt.flavour} ${dflt.directory}`, 'default /x/journal');
});

test('no <transportConnectors> keeps the default OpenWire, STOMP and WebSocket connectors', () => {
  const { config } = parseConfigXml('<broker/>', 'c.xml', noEnv);
  assert.deepEqual(config.transportConnectors.map((c) => c.uri), ['tcp://127.0.0.1:61616', 'stomp://127.0.0.1:61613', 'ws://127.0.0.1:61614']);
});

test('virtual topics: ActiveMQ\'s default rule, useVirtualTopics="false", and <virtualDestinationInterceptor> rules', () => {
  const rule = (name: string, prefix: string, postfix = '') => ({ name, prefix, postfix });
  assert.deepEqual(parseConfigXml('<broker/>', 'v.xml', noEnv).config.virtualTopics, [rule('VirtualTopic.>', 'Consumer.*.')]);
  assert.deepEqual(parseConfigXml('<broker useVirtualTopics="false"/>', 'v.xml', noEnv).config.virtualTopics, []);
  const custom = parseConfigXml(
    `<broker><destinationInterceptors><virtualDestinationInterceptor><virtualDestinations>
       <virtualTopic name="events.>" prefix="Q.*." postfix=".in" selectorAware="false" concurrentSend="true"/>
       <virtualTopic prefix="All.*."/>
       <compositeQueue name="fanout"/>
     </virtualDestinations></virtualDestinationInterceptor></destinationInterceptors></broker>`,
    'v.xml',
    noEnv,
  );
  // The file's rules replace the default one; a <virtualTopic> without name covers every topic, as in ActiveMQ.
  assert.deepEqual(custom.config.virtualTopics, [rule('events.>', 'Q.*.', '.in'), rule('>', 'All.*.')]);
  const warnings = custom.warnings.join('\n');
  assert.match(warnings, /concurrentSend has no effect/);
  assert.match(warnings, /<compositeQueue> \(line 4\) in <virtualDestinations> has no effect/);
  // Other interceptors only: ActiveMQ then adds no default virtual topic either.
  const mirrored = parseConfigXml('<broker><destinationInterceptors><mirroredQueue/></destinationInterceptors></broker>', 'v.xml', noEnv);
  assert.deepEqual(mirrored.config.virtualTopics, []);
  assert.throws(
    () => parseConfigXml('<broker><destinationInterceptors><virtualDestinationInterceptor><virtualDestinations><virtualTopic selectorAware="true"/></virtualDestinations></virtualDestinationInterceptor></destinationInterceptors></broker>', 'v.xml', noEnv),
    /selectorAware="true" is not supported/,
  );
  assert.throws(
    () => parseConfigXml('<broker><destinationInterceptors><virtualDestinationInterceptor><virtualDestinations><virtualTopic name="a.>.b"/></virtualDestinations></virtualDestinationInterceptor></destinationInterceptors></broker>', 'v.xml', noEnv),
    /invalid topic pattern name="a\.>\.b"/,
  );
});

test('simpleAuthenticationPlugin: users with groups, anonymous access, placeholders in passwords', () => {
  const { config } = parseConfigXml(
    `<broker><plugins><simpleAuthenticationPlugin anonymousAccessAllowed="true"><users>
       <authenticationUser username="admin" password="\${admin.password}" groups="admins, users"/>
       <authenticationUser username="app" password="app-pass"/>
     </users></simpleAuthenticationPlugin></plugins></broker>`,
    'a.xml',
    { env: {}, set: { 'admin.password': 'from-set' } },
  );
  assert.deepEqual(config.authentication, {
    anonymousAccessAllowed: true,
    users: [
      { username: 'admin', password: 'from-set', groups: ['admins', 'users'] },
      { username: 'app', password: 'app-pass', groups: [] },
    ],
  });
  assert.equal(parseConfigXml('<broker/>', 'a.xml', noEnv).config.authentication, undefined);
});

test('authorizationPlugin: ActiveMQ\'s map with entries, a temp entry and a default entry; anonymous user and group', () => {
  const { config } = parseConfigXml(
    `<broker><plugins>
       <simpleAuthenticationPlugin anonymousAccessAllowed="true" anonymousUser="guest" anonymousGroup="guests"><users>
         <authenticationUser username="admin" password="pw" groups="admins"/>
       </users></simpleAuthenticationPlugin>
       <authorizationPlugin><map><authorizationMap groupClass="org.apache.activemq.jaas.GroupPrincipal">
         <authorizationEntries>
           <authorizationEntry queue=">" read="admins" write="admins" admin="admins"/>
           <authorizationEntry topic="ActiveMQ.Advisory.>" read="guests, users" write="guests,users" admin="guests,users"/>
         </authorizationEntries>
         <tempDestinationAuthorizationEntry><tempDestinationAuthorizationEntry read="tmp" write="tmp" admin="tmp"/></tempDestinationAuthorizationEntry>
         <defaultEntry><authorizationEntry read="*" write="" admin=""/></defaultEntry>
       </authorizationMap></map></authorizationPlugin>
     </plugins></broker>`,
    'a.xml',
    noEnv,
  );
  assert.equal(config.authentication?.anonymousUser, 'guest');
  assert.equal(config.authentication?.anonymousGroup, 'guests');
  assert.deepEqual(config.authorization, {
    entries: [
      { kind: 'queue', pattern: '>', read: ['admins'], write: ['admins'], admin: ['admins'] },
      { kind: 'topic', pattern: 'ActiveMQ.Advisory.>', read: ['guests', 'users'], write: ['guests', 'users'], admin: ['guests', 'users'] },
    ],
    temp: { read: ['tmp'], write: ['tmp'], admin: ['tmp'] },
    defaultEntry: { read: ['*'], write: [], admin: [] },
  });
});

test('destination policies, DLQ strategies and the redelivery plugin', () => {
  const { config, warnings } = loadConfigFile(`${FIXTURES}/policies-redelivery.xml`, noEnv);
  assert.deepEqual(config.policies, [
    {
      queue: '>', prioritizedMessages: false, memoryLimitBytes: 1024 * 1024,
      deadLetterStrategy: {
        kind: 'individual', queuePrefix: 'DLQ.', topicPrefix: 'ActiveMQ.DLQ.Topic.', useQueueForQueueMessages: true,
        useQueueForTopicMessages: true, processExpired: false, processNonPersistent: false,
      },
    },
    {
      queue: 'orders.>', prioritizedMessages: true,
      deadLetterStrategy: { kind: 'shared', queueName: 'ORDERS.DLQ', processExpired: true, processNonPersistent: true },
      redeliveryPolicy: { maximumRedeliveries: 2, redeliveryDelayMs: 250 },
    },
    { topic: 'events.*', prioritizedMessages: false, deadLetterStrategy: { kind: 'discarding' } },
    { queue: 'payments', prioritizedMessages: false, redeliveryPolicy: { maximumRedeliveries: 4, redeliveryDelayMs: 10_000 } },
  ]);
  assert.deepEqual(config.defaultRedeliveryPolicy, { maximumRedeliveries: 3, redeliveryDelayMs: 5000 });
  assert.equal(config.memoryLimitBytes, 128 * 1024 * 1024);
  assert.equal(config.transportConnectors[0].port, 0);
  const text = warnings.join('\n');
  assert.doesNotMatch(text, /schedulerSupport/, 'schedulerSupport is honoured now, not ignored');
  assert.equal(config.schedulerSupport, true);
  assert.match(text, /<policyEntry> attribute producerFlowControl/);
  assert.match(text, /<redeliveryPlugin> attributes fallbackToDeadLetter, sendToDlqIfMaxRetriesExceeded/);
});

test('a policyMap defaultEntry applies as ">" for queues and topics', () => {
  const xml = `<broker><destinationPolicy><policyMap><defaultEntry><policyEntry prioritizedMessages="true"/></defaultEntry>
    </policyMap></destinationPolicy></broker>`;
  const { config } = parseConfigXml(xml, 'p.xml', noEnv);
  assert.deepEqual(config.policies, [{ queue: '>', prioritizedMessages: true }, { topic: '>', prioritizedMessages: true }]);
});

test('placeholders: --set beats the environment, which beats built-ins; defaults after a colon', () => {
  const xml = '<broker brokerName="${name}" dataDirectory="${activemq.data}"><persistenceAdapter><kahaDB directory="${store.dir:/fallback}"/></persistenceAdapter></broker>';
  const table: { opts: Parameters<typeof parseConfigXml>[2]; name: string; data: string; dir: string }[] = [
    { opts: { env: { name: 'fromEnv' } }, name: 'fromEnv', data: './data', dir: '/fallback' },
    { opts: { env: { NAME: 'upperEnv' } }, name: 'upperEnv', data: './data', dir: '/fallback' },
    { opts: { set: { name: 'fromSet' }, env: { name: 'fromEnv' } }, name: 'fromSet', data: './data', dir: '/fallback' },
    { opts: { set: { name: 'n' }, env: {}, dataDir: '/cli' }, name: 'n', data: '/cli', dir: '/fallback' },
    { opts: { set: { name: 'n' }, env: { ACTIVEMQ_DATA: '/env' }, dataDir: '/cli' }, name: 'n', data: '/env', dir: '/fallback' },
    { opts: { set: { name: 'n', 'activemq.data': '/set', 'store.dir': '/s' }, env: { ACTIVEMQ_DATA: '/env' } }, name: 'n', data: '/set', dir: '/s' },
  ];
  for (const row of table) {
    const { config } = parseConfigXml(xml, 'p.xml', row.opts);
    assert.equal(config.brokerName, row.name, JSON.stringify(row.opts));
    assert.equal(config.dataDirectory, row.data, JSON.stringify(row.opts));
    assert.equal(config.persistence.kind === 'journal' && config.persistence.directory, row.dir, JSON.stringify(row.opts));
  }
});

test('placeholders: activemq.conf is the directory of the file', () => {
  const path = `${FIXTURES}/activemq-5.17-default.xml`;
  const xml = '<broker dataDirectory="${activemq.conf}/d"/>';
  assert.equal(parseConfigXml(xml, path, noEnv).config.dataDirectory, `${dirname(resolve(path))}/d`);
});

test('--data does not override a literal dataDirectory, and says so', () => {
  const { config, warnings } = parseConfigXml('<broker dataDirectory="/fixed"/>', 'd.xml', { env: {}, dataDir: '/cli' });
  assert.equal(config.dataDirectory, '/fixed');
  assert.match(warnings.join('\n'), /--data \/cli does not change it/);
  assert.equal(parseConfigXml('<broker/>', 'd.xml', { env: {}, dataDir: '/cli' }).config.dataDirectory, '/cli');
});
