import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFile, parseConfigXml } from '../../src/config/index.js';
import { isQmqError, type ErrorCodeName } from '../../src/util/errors.js';

/** Asserts the call throws a QmqError of `codeName` whose message matches every pattern. */
function assertConfigError(fn: () => unknown, codeName: ErrorCodeName, patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isQmqError(e), `expected a QmqError, got ${String(e)}`);
    assert.equal(e.codeName, codeName, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** A broker document whose line `n` (1-based) is `lines[n-1]`. */
function doc(...lines: string[]): string {
  return lines.join('\n');
}

const seedBlock = (attr: string) =>
  doc(
    '<broker xmlns="http://activemq.apache.org/schema/core" brokerName="ppgmq">',
    '  <persistenceAdapter>',
    '    <replicatedLevelDB',
    '      directory="/d"',
    `      ${attr}`,
    '    />',
    '  </persistenceAdapter>',
    '</broker>',
  );

const cases: { name: string; xml: string; code?: ErrorCodeName; patterns: RegExp[]; opts?: Parameters<typeof parseConfigXml>[2] }[] = [
  {
    name: 'typo attribute: suggestion, line, valid names',
    xml: seedBlock('replcas="3"'),
    patterns: [
      /^activemq\.xml:3: unknown attribute "replcas" on <replicatedLevelDB>; did you mean "replicas"\? Valid attributes: bind, directory, hostname, logSize, replicas, /,
      /also accepted and ignored: .*verifyChecksums/,
    ],
  },
  {
    name: 'unknown element in <broker> with suggestion',
    xml: doc('<broker>', '  <persistenceAdaptor><kahaDB/></persistenceAdaptor>', '</broker>'),
    patterns: [/^activemq\.xml:2: unknown element <persistenceAdaptor> in <broker>; did you mean "persistenceAdapter"\?/, /Valid elements: destinationInterceptors, destinationPolicy, persistenceAdapter, plugins, systemUsage, transportConnectors/],
  },
  {
    name: 'unknown element with no near name',
    xml: doc('<broker>', '', '  <frobnicator/>', '</broker>'),
    patterns: [/^activemq\.xml:3: unknown element <frobnicator> in <broker>\. Valid elements:/],
  },
  {
    name: 'unknown sync token lists the valid ones',
    xml: seedBlock('sync="quorum_disc"'),
    patterns: [/^activemq\.xml:3: unknown sync token "quorum_disc" on <replicatedLevelDB>; did you mean "quorum_disk"\? Valid tokens: local_mem, local_disk, remote_mem, remote_disk, quorum_mem, quorum_disk/],
  },
  {
    name: 'bad size',
    xml: doc('<broker>', '  <persistenceAdapter>', '    <kahaDB journalMaxFileLength="32 megs"/>', '  </persistenceAdapter>', '</broker>'),
    patterns: [/^activemq\.xml:3: invalid value "32 megs" for journalMaxFileLength on <kahaDB>; expected a size above zero: .*"100 mb"/],
  },
  {
    name: 'bad memory limit size',
    xml: doc('<broker><systemUsage><systemUsage>', '<memoryUsage><memoryUsage limit="lots"/></memoryUsage>', '</systemUsage></systemUsage></broker>'),
    patterns: [/^activemq\.xml:2: invalid value "lots" for limit on <memoryUsage>/],
  },
  {
    name: 'bad port',
    xml: doc('<broker>', '<transportConnectors>', '<transportConnector name="stomp" uri="stomp://0.0.0.0:70000"/>', '</transportConnectors>', '</broker>'),
    patterns: [/^activemq\.xml:3: connector "stomp" \(stomp:\/\/0\.0\.0\.0:70000\): port 70000 is out of range; expected 0-65535/],
  },
  {
    name: 'missing port',
    xml: doc('<broker><transportConnectors>', '<transportConnector name="s" uri="stomp://localhost"/>', '</transportConnectors></broker>'),
    patterns: [/^activemq\.xml:2: connector "s" \(stomp:\/\/localhost\): a port is required/],
  },
  {
    name: 'duplicate connector address',
    xml: doc('<broker><transportConnectors>', '<transportConnector name="a" uri="stomp://0.0.0.0:61613"/>', '<transportConnector name="b" uri="stomp+nio://0.0.0.0:61613"/>', '</transportConnectors></broker>'),
    patterns: [/^activemq\.xml:3: connector "b" listens on 0\.0\.0\.0:61613, which the connector at line 2 already uses/],
  },
  {
    name: 'unsupported scheme is CONFIG_UNSUPPORTED',
    xml: doc('<broker><transportConnectors>', '<transportConnector name="mq" uri="amqp://0.0.0.0:5672"/>', '</transportConnectors></broker>'),
    code: 'CONFIG_UNSUPPORTED',
    patterns: [/^activemq\.xml:2: connector "mq" \(amqp:\/\/0\.0\.0\.0:5672\): scheme "amqp" is not supported yet/],
  },
  {
    name: 'malformed XML names line and column',
    xml: doc('<broker>', '  <persistenceAdapter>', '    <kahaDB directory="/d">', '  </persistenceAdapter>', '</broker>'),
    patterns: [/^activemq\.xml:4:\d+: malformed XML: .*kahaDB/],
  },
  {
    name: 'unresolved placeholder says where to set it',
    xml: doc('<broker', '  dataDirectory="${qmq.home}/data"/>'),
    patterns: [/^activemq\.xml:1: <broker dataDirectory>: unresolved placeholder \$\{qmq\.home\}; set it with --set qmq\.home=VALUE or the environment variable QMQ_HOME/],
  },
  {
    name: 'bad boolean',
    xml: doc('<broker persistent="yes"/>'),
    patterns: [/^activemq\.xml:1: invalid value "yes" for persistent on <broker>; expected "true" or "false"/],
  },
  {
    name: 'bad replicas number',
    xml: seedBlock('replicas="three"'),
    patterns: [/^activemq\.xml:3: invalid value "three" for replicas on <replicatedLevelDB>; expected a whole number from 1 to 99/],
  },
  {
    name: 'bad zkSessionTimeout duration',
    xml: seedBlock('zkSessionTimeout="2 fortnights"'),
    patterns: [/invalid value "2 fortnights" for zkSessionTimeout on <replicatedLevelDB>; expected a duration: .*"2s"/],
  },
  {
    name: 'bad bind address',
    xml: seedBlock('bind="0.0.0.0:61619"'),
    patterns: [/^activemq\.xml:3: invalid value "0\.0\.0\.0:61619" for bind .*expected tcp:\/\/host:port/],
  },
  {
    name: 'two stores in one persistenceAdapter',
    xml: doc('<broker><persistenceAdapter>', '<kahaDB/>', '<levelDB/>', '</persistenceAdapter></broker>'),
    patterns: [/^activemq\.xml:3: <persistenceAdapter> must contain exactly one store element/],
  },
  {
    name: 'unsupported store',
    xml: doc('<broker><persistenceAdapter>', '<mKahaDB/>', '</persistenceAdapter></broker>'),
    code: 'CONFIG_UNSUPPORTED',
    patterns: [/^activemq\.xml:2: <mKahaDB> is not supported\. Supported stores: kahaDB, levelDB, replicatedLevelDB, jdbcPersistenceAdapter/],
  },
  {
    name: 'bad wildcard pattern in a policy entry',
    xml: doc('<broker><destinationPolicy><policyMap><policyEntries>', '<policyEntry queue="a.>.b"/>', '</policyEntries></policyMap></destinationPolicy></broker>'),
    patterns: [/^activemq\.xml:2: invalid queue pattern on <policyEntry>: "a\.>\.b": ">" may only be the last segment/],
  },
  {
    name: 'policy entry without a destination',
    xml: doc('<broker><destinationPolicy><policyMap><policyEntries>', '<policyEntry prioritizedMessages="true"/>', '</policyEntries></policyMap></destinationPolicy></broker>'),
    patterns: [/^activemq\.xml:2: <policyEntry> needs queue="pattern" or topic="pattern"/],
  },
  {
    name: 'typo in a policyEntry attribute',
    xml: doc('<broker><destinationPolicy><policyMap><policyEntries>', '<policyEntry queue=">" prioritisedMessages="true"/>', '</policyEntries></policyMap></destinationPolicy></broker>'),
    patterns: [/^activemq\.xml:2: unknown attribute "prioritisedMessages" on <policyEntry>; did you mean "prioritizedMessages"\?/],
  },
  {
    name: 'a security plugin not supported fails closed',
    xml: doc('<broker><plugins>', '<jaasAuthenticationPlugin configuration="activemq"/>', '</plugins></broker>'),
    code: 'CONFIG_UNSUPPORTED',
    patterns: [/^activemq\.xml:2: <jaasAuthenticationPlugin> is not supported yet \(of ActiveMQ's security plugins, <simpleAuthenticationPlugin> and <authorizationPlugin> are\)/],
  },
  {
    name: 'authorizationPlugin without a map',
    xml: doc('<broker><plugins>', '<authorizationPlugin/>', '</plugins></broker>'),
    patterns: [/^activemq\.xml:2: <authorizationPlugin> needs a <map><authorizationMap>/],
  },
  {
    name: 'authorizationPlugin with an LDAP map fails closed',
    xml: doc('<broker><plugins><authorizationPlugin><map>', '<cachedLDAPAuthorizationMap connectionURL="ldap://x"/>', '</map></authorizationPlugin></plugins></broker>'),
    code: 'CONFIG_UNSUPPORTED',
    patterns: [/^activemq\.xml:2: <cachedLDAPAuthorizationMap> is not supported: use <authorizationMap>/],
  },
  {
    name: 'authorizationEntry naming a queue and a topic',
    xml: doc('<broker><plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>', '<authorizationEntry queue=">" topic=">" read="a"/>', '</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins></broker>'),
    patterns: [/^activemq\.xml:2: <authorizationEntry> names exactly one of queue="…" or topic="…"/],
  },
  {
    name: 'authorizationEntry with a misspelt attribute',
    xml: doc('<broker><plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>', '<authorizationEntry queue=">" reed="a"/>', '</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins></broker>'),
    patterns: [/^activemq\.xml:2: .*reed/],
  },
  {
    name: 'an authorization map with no authentication plugin',
    xml: doc('<broker><plugins><authorizationPlugin><map><authorizationMap><authorizationEntries>', '<authorizationEntry queue=">" read="a" write="a" admin="a"/>', '</authorizationEntries></authorizationMap></map></authorizationPlugin></plugins></broker>'),
    patterns: [/authorization map needs an authentication plugin \(<simpleAuthenticationPlugin>\)/],
  },
  {
    name: 'simpleAuthenticationPlugin that would let nobody in',
    xml: doc('<broker><plugins>', '<simpleAuthenticationPlugin/>', '</plugins></broker>'),
    patterns: [/^activemq\.xml:2: <simpleAuthenticationPlugin> lists no <authenticationUser> and anonymousAccessAllowed is false/],
  },
  {
    name: 'simpleAuthenticationPlugin with a user twice',
    xml: doc('<broker><plugins><simpleAuthenticationPlugin><users>', '<authenticationUser username="a" password="x"/>', '<authenticationUser username="a" password="y"/>', '</users></simpleAuthenticationPlugin></plugins></broker>'),
    patterns: [/^activemq\.xml:3: user "a" is defined twice \(also at line 2\)/],
  },
  {
    name: 'jdbc dataSource that refers to no bean',
    xml: doc('<beans><bean id="postgres-ds" class="org.apache.commons.dbcp2.BasicDataSource"/>', '<broker><persistenceAdapter>', '<jdbcPersistenceAdapter dataSource="#postgres-db"/>', '</persistenceAdapter></broker></beans>'),
    patterns: [/^activemq\.xml:3: dataSource="#postgres-db" refers to no <bean id="postgres-db"> in this file; did you mean "postgres-ds"\?/],
  },
  {
    name: 'jdbc data source that is not PostgreSQL',
    xml: doc('<beans>', '<bean id="my" class="org.apache.commons.dbcp2.BasicDataSource"><property name="url" value="jdbc:mysql://h/d"/></bean>', '<broker><persistenceAdapter><jdbcPersistenceAdapter dataSource="#my"/></persistenceAdapter></broker></beans>'),
    code: 'CONFIG_UNSUPPORTED',
    patterns: [/^activemq\.xml:2: <bean id="my">: url "jdbc:mysql:\/\/h\/d" is not a PostgreSQL JDBC URL/],
  },
  {
    name: 'wrong root element',
    xml: doc('<configuration/>'),
    patterns: [/^activemq\.xml:1: the root element is <configuration>; expected <broker/],
  },
  {
    name: '<beans> without a broker',
    xml: doc('<beans>', '<bean class="x"/>', '</beans>'),
    patterns: [/^activemq\.xml:1: <beans> must contain exactly one <broker> element, found 0/],
  },
  {
    name: 'element given twice',
    xml: doc('<broker>', '<persistenceAdapter><kahaDB/></persistenceAdapter>', '<persistenceAdapter><kahaDB/></persistenceAdapter>', '</broker>'),
    patterns: [/^activemq\.xml:3: <persistenceAdapter> may appear only once in <broker> \(first at line 2\)/],
  },
];

for (const c of cases) {
  test(`config error: ${c.name}`, () => {
    assertConfigError(() => parseConfigXml(c.xml, 'activemq.xml', c.opts ?? { env: {} }), c.code ?? 'CONFIG_INVALID', c.patterns);
  });
}

test('config error: a missing file names the path', () => {
  assertConfigError(() => loadConfigFile('/nonexistent/activemq.xml'), 'CONFIG_INVALID', [/^\/nonexistent\/activemq\.xml: cannot read the config file: no such file/]);
});

test('config error: lines are right after multi-byte text and comments', () => {
  const xml = doc('<?xml version="1.0"?>', '<!-- 集群 配置：', '     多行注释 -->', '<broker brokerName="ppgmq">', '  <transportConnectors>', '    <transportConnector nmae="x" uri="stomp://h:1"/>', '  </transportConnectors>', '</broker>');
  assertConfigError(() => parseConfigXml(xml, 'activemq.xml', { env: {} }), 'CONFIG_INVALID', [/^activemq\.xml:6: unknown attribute "nmae" on <transportConnector>; did you mean "name"\?/]);
});
