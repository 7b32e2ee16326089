/**
 * ActiveMQ-style XML (a `<broker>` root, or Spring `<beans>` holding one `<broker>`) → one
 * validated BrokerConfig plus the warnings for everything accepted but ignored.
 */
import { dirname, resolve } from 'node:path';
import {
  BROKER_IGNORED_ATTRIBUTES,
  BROKER_IGNORED_CHILDREN,
  CONNECTOR_IGNORED_ATTRIBUTES,
  IGNORED_PLUGINS,
  SECURITY_PLUGINS,
} from './activemq-vocabulary.js';
import { parseConnectorUri } from './connector-uri.js';
import { baseDefaultConfig, defaultJournal, DEFAULT_DATA_DIRECTORY } from './defaults.js';
import { readPersistence, type BeanDefinition } from './persistence-xml.js';
import { readDestinationInterceptors } from './interceptors-xml.js';
import { readAuthorization, readSimpleAuthentication } from './security-xml.js';
import { mergeRedeliveryEntries, readDestinationPolicy, readRedeliveryPlugin, type RedeliveryEntry } from './policy-xml.js';
import { validateConfig } from './schema.js';
import type { AuthenticationConfig, AuthorizationConfig, BrokerConfig, PersistenceConfig, RedeliveryPolicy, TransportConnectorConfig } from './types.js';
import { ConfigReader } from './xml-reader.js';
import { parseXmlTree, type XmlElement } from './xml-tree.js';

export interface LoadOptions {
  /** `--set name=value`: placeholder values, highest precedence. */
  set?: Record<string, string>;
  /** Environment for placeholders; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** `--data`: the value of `${activemq.data}` and the default dataDirectory. */
  dataDir?: string;
  /** Turn connectors with a scheme that is not served yet (OpenWire, AMQP, MQTT) into warnings. */
  ignoreUnsupportedConnectors?: boolean;
}

export interface LoadedConfig {
  config: BrokerConfig;
  warnings: string[];
}

const PLACEHOLDER_CONFIGURERS = [
  'org.springframework.beans.factory.config.PropertyPlaceholderConfigurer',
  'org.springframework.context.support.PropertySourcesPlaceholderConfigurer',
];

function describeSkipped(el: XmlElement): string {
  const shown = ['id', 'class', 'resource'].filter((a) => el.attrs[a] !== undefined).map((a) => ` ${a}="${el.attrs[a]}"`).join('');
  return `<${el.qname}${shown}>${el.line > 0 ? ` (line ${el.line})` : ''}`;
}

function readBean(el: XmlElement): BeanDefinition {
  const properties: Record<string, string> = {};
  for (const p of el.children) {
    if (p.name !== 'property' || p.attrs.name === undefined) continue;
    const value = p.attrs.value ?? p.children.find((c) => c.name === 'value')?.text;
    if (value !== undefined) properties[p.attrs.name] = value;
  }
  return { id: el.attrs.id ?? '', className: el.attrs.class ?? '', properties, el };
}

export function parseConfigXml(xml: string, source: string, opts: LoadOptions = {}): LoadedConfig {
  const root = parseXmlTree(xml, source);
  const isInline = source.startsWith('<');
  const builtIns: Record<string, string> = {
    'activemq.data': opts.dataDir ?? DEFAULT_DATA_DIRECTORY,
    // QuorumMQ has no install tree; base and home are where it runs.
    'activemq.base': process.cwd(),
    'activemq.home': process.cwd(),
    'activemq.conf': isInline ? process.cwd() : dirname(resolve(source)),
  };
  const r: ConfigReader = new ConfigReader(source, { set: opts.set ?? {}, env: opts.env ?? process.env, builtIns });

  const beans = new Map<string, BeanDefinition>();
  let broker: XmlElement;
  if (root.name === 'broker') {
    broker = root;
  } else if (root.name === 'beans') {
    const brokers: XmlElement[] = [];
    const skipped: XmlElement[] = [];
    for (const child of root.children) {
      if (child.name === 'broker') brokers.push(child);
      else if (child.name === 'bean') {
        const bean = readBean(child);
        if (bean.id !== '') beans.set(bean.id, bean);
        const harmless = PLACEHOLDER_CONFIGURERS.includes(bean.className) || /DataSource$/.test(bean.className);
        if (!harmless) skipped.push(child);
      } else if (child.qname !== 'context:property-placeholder') skipped.push(child);
    }
    if (brokers.length !== 1) {
      r.fail(brokers[1] ?? root, `<beans> must contain exactly one <broker> element, found ${brokers.length}`);
    }
    broker = brokers[0];
    if (skipped.length > 0) {
      r.warn(undefined, `skipped Spring parts that do not affect messaging: ${skipped.map(describeSkipped).join(', ')}`);
    }
  } else {
    r.fail(root, `the root element is <${root.qname}>; expected <broker xmlns="http://activemq.apache.org/schema/core"> or a Spring <beans> containing one <broker>`);
  }

  const config = readBroker(r, broker, beans, opts);
  return { config: validateConfig(config, source), warnings: r.warnings };
}

function readBroker(r: ConfigReader, broker: XmlElement, beans: Map<string, BeanDefinition>, opts: LoadOptions): BrokerConfig {
  r.checkAttributes(broker, { mapped: ['brokerName', 'dataDirectory', 'persistent', 'useVirtualTopics', 'schedulerSupport'], ignored: BROKER_IGNORED_ATTRIBUTES });
  const children = r.checkChildren(
    broker,
    ['persistenceAdapter', 'transportConnectors', 'destinationPolicy', 'destinationInterceptors', 'systemUsage', 'plugins'],
    BROKER_IGNORED_CHILDREN,
  );
  const config = baseDefaultConfig();
  config.source = r.source;
  config.brokerName = r.str(broker, 'brokerName') ?? config.brokerName;
  if (!/^[A-Za-z0-9_.-]+$/.test(config.brokerName)) {
    r.fail(broker, `invalid brokerName "${config.brokerName}"; expected letters, digits, ".", "_" and "-" only`);
  }
  const rawDataDirectory = broker.attrs.dataDirectory;
  config.dataDirectory = r.str(broker, 'dataDirectory') ?? opts.dataDir ?? DEFAULT_DATA_DIRECTORY;
  if (opts.dataDir !== undefined && rawDataDirectory !== undefined && !rawDataDirectory.includes('${') && config.dataDirectory !== opts.dataDir) {
    r.warn(broker, `dataDirectory="${rawDataDirectory}" is set in the file, so --data ${opts.dataDir} does not change it (use dataDirectory="\${activemq.data}" to follow --data)`);
  }

  const adapter = r.single(broker, children, 'persistenceAdapter');
  let persistence: PersistenceConfig =
    adapter === undefined ? defaultJournal(config.dataDirectory) : readPersistence(r, adapter, { dataDirectory: config.dataDirectory, beans });
  if (r.bool(broker, 'persistent') === false) {
    if (adapter !== undefined) r.warn(adapter, 'persistent="false" on <broker>: the <persistenceAdapter> is ignored and messages are kept in memory only');
    persistence = { kind: 'memory' };
  }
  config.persistence = persistence;

  const connectors = r.single(broker, children, 'transportConnectors');
  if (connectors !== undefined) config.transportConnectors = readConnectors(r, connectors, opts);

  const destinationPolicy = r.single(broker, children, 'destinationPolicy');
  if (destinationPolicy !== undefined) config.policies = readDestinationPolicy(r, destinationPolicy);

  const interceptors = r.single(broker, children, 'destinationInterceptors');
  if (interceptors !== undefined) config.virtualTopics = readDestinationInterceptors(r, interceptors);
  else if (r.bool(broker, 'useVirtualTopics') === false) config.virtualTopics = [];
  if (r.bool(broker, 'schedulerSupport') === true) config.schedulerSupport = true;

  const systemUsage = r.single(broker, children, 'systemUsage');
  if (systemUsage !== undefined) config.memoryLimitBytes = readMemoryLimit(r, systemUsage) ?? config.memoryLimitBytes;

  const plugins = r.single(broker, children, 'plugins');
  if (plugins !== undefined) {
    const read = readPlugins(r, plugins);
    if (read.defaultPolicy !== undefined) config.defaultRedeliveryPolicy = read.defaultPolicy;
    mergeRedeliveryEntries(r, config.policies, read.entries);
    if (read.authentication !== undefined) config.authentication = read.authentication;
    if (read.authorization !== undefined) config.authorization = read.authorization;
  }
  return config;
}

function readConnectors(r: ConfigReader, el: XmlElement, opts: LoadOptions): TransportConnectorConfig[] {
  r.checkAttributes(el, { mapped: [] });
  r.checkChildren(el, ['transportConnector']);
  const result: TransportConnectorConfig[] = [];
  const lines = new Map<string, number>();
  for (const c of el.children) {
    r.checkAttributes(c, { mapped: ['name', 'uri'], ignored: CONNECTOR_IGNORED_ATTRIBUTES });
    r.checkChildren(c, []);
    const uri = r.requiredStr(c, 'uri', 'e.g. uri="stomp://0.0.0.0:61613"');
    const parsed = parseConnectorUri(r.str(c, 'name') ?? uri, uri);
    if (!parsed.ok) {
      if (!parsed.unsupported) r.fail(c, parsed.message);
      if (opts.ignoreUnsupportedConnectors === true) {
        r.warn(c, `${parsed.message.replace(/\. Remove the connector.*$/, '')}; skipped (--ignore-unsupported-connectors)`);
        continue;
      }
      r.unsupported(c, parsed.message);
    }
    const { connector } = parsed;
    const sameName = lines.get(`name:${connector.name}`);
    if (sameName !== undefined) r.fail(c, `duplicate connector name "${connector.name}" (also at line ${sameName})`);
    const address = `${connector.host}:${connector.port}`;
    const sameAddress = lines.get(`address:${address}`);
    if (connector.port !== 0 && sameAddress !== undefined) {
      r.fail(c, `connector "${connector.name}" listens on ${address}, which the connector at line ${sameAddress} already uses`);
    }
    lines.set(`name:${connector.name}`, c.line);
    lines.set(`address:${address}`, c.line);
    result.push(connector);
  }
  if (result.length === 0) r.warn(el, 'no client connectors are left: the broker will accept no clients');
  return result;
}

/** `<systemUsage><systemUsage><memoryUsage><memoryUsage limit="64 mb"/>` → bytes. */
function readMemoryLimit(r: ConfigReader, outer: XmlElement): number | undefined {
  r.checkAttributes(outer, { mapped: [] });
  const inner = r.single(outer, r.checkChildren(outer, ['systemUsage']), 'systemUsage');
  if (inner === undefined) return undefined;
  r.checkAttributes(inner, { mapped: [], ignored: ['sendFailIfNoSpace', 'sendFailIfNoSpaceAfterTimeout', 'name', 'checkLimitsLogLevel'] });
  const usage = r.checkChildren(inner, ['memoryUsage'], ['storeUsage', 'tempUsage', 'jobSchedulerUsage', 'executor']);
  const memoryOuter = r.single(inner, usage, 'memoryUsage');
  if (memoryOuter === undefined) return undefined;
  r.checkAttributes(memoryOuter, { mapped: [] });
  const memory = r.single(memoryOuter, r.checkChildren(memoryOuter, ['memoryUsage']), 'memoryUsage');
  if (memory === undefined) return undefined;
  r.checkAttributes(memory, { mapped: ['limit'], ignored: ['percentOfJvmHeap', 'percentUsageMinDelta', 'pollingTime', 'name'] });
  r.checkChildren(memory, []);
  return r.sizeBytes(memory, 'limit');
}

function readPlugins(
  r: ConfigReader,
  el: XmlElement,
): { defaultPolicy?: RedeliveryPolicy; entries: RedeliveryEntry[]; authentication?: AuthenticationConfig; authorization?: AuthorizationConfig } {
  r.checkAttributes(el, { mapped: [] });
  for (const child of el.children) {
    if ((SECURITY_PLUGINS as readonly string[]).includes(child.name)) {
      r.unsupported(
        child,
        `<${child.name}> is not supported yet (of ActiveMQ's security plugins, <simpleAuthenticationPlugin> and <authorizationPlugin> are), and ` +
          `ignoring it would let clients in or do things it forbids. Remove it, or use those`,
      );
    }
  }
  const children = r.checkChildren(el, ['redeliveryPlugin', 'simpleAuthenticationPlugin', 'authorizationPlugin'], IGNORED_PLUGINS);
  const plugin = r.single(el, children, 'redeliveryPlugin');
  const auth = r.single(el, children, 'simpleAuthenticationPlugin');
  const authz = r.single(el, children, 'authorizationPlugin');
  const redelivery = plugin === undefined ? { entries: [] } : readRedeliveryPlugin(r, plugin);
  return {
    ...redelivery,
    ...(auth === undefined ? {} : { authentication: readSimpleAuthentication(r, auth) }),
    ...(authz === undefined ? {} : { authorization: readAuthorization(r, authz) }),
  };
}

