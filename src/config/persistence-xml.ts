/**
 * `<persistenceAdapter>` → PersistenceConfig. One store element is allowed; attributes with an
 * equivalent are mapped, ActiveMQ tuning knobs without one are accepted with a warning.
 */
import {
  JDBC_IGNORED_ATTRIBUTES,
  JDBC_LOCKER_IGNORED_ATTRIBUTES,
  JDBC_STATEMENTS_IGNORED_ATTRIBUTES,
  KAHADB_IGNORED_ATTRIBUTES,
  LEVELDB_IGNORED_ATTRIBUTES,
  REPLICATED_IGNORED_ATTRIBUTES,
} from './activemq-vocabulary.js';
import { DEFAULT_LOCK_KEEP_ALIVE_PERIOD_MS, defaultJdbc, defaultJournal, defaultReplicated } from './defaults.js';
import { SYNC_TOKENS } from './schema.js';
import { didYouMean } from './suggest.js';
import { leaseTimingError } from '../ha/db-lease/lease-decisions.js';
import type { JdbcPersistence, JournalPersistence, PersistenceConfig, ReplicatedPersistence, SyncToken } from './types.js';
import type { ConfigReader } from './xml-reader.js';
import type { XmlElement } from './xml-tree.js';

/** A Spring `<bean id=… class=…>` with its `<property>` values, kept for `dataSource="#id"`. */
export interface BeanDefinition {
  id: string;
  className: string;
  properties: Record<string, string>;
  el: XmlElement;
}

export interface PersistenceContext {
  dataDirectory: string;
  beans: Map<string, BeanDefinition>;
}

const STORES = ['kahaDB', 'levelDB', 'replicatedLevelDB', 'jdbcPersistenceAdapter'] as const;
/** Stores ActiveMQ has that have no counterpart here; named so the error is specific. */
const UNSUPPORTED_STORES = ['memoryPersistenceAdapter', 'mKahaDB', 'journalPersistenceAdapter', 'journaledJDBC', 'amqPersistenceAdapter'];

export function readPersistence(r: ConfigReader, adapter: XmlElement, ctx: PersistenceContext): PersistenceConfig {
  r.checkAttributes(adapter, { mapped: [] });
  for (const child of adapter.children) {
    if (UNSUPPORTED_STORES.includes(child.name)) {
      const hint = child.name === 'memoryPersistenceAdapter' ? ' For an in-memory store set persistent="false" on <broker>.' : '';
      r.unsupported(child, `<${child.name}> is not supported. Supported stores: ${STORES.join(', ')}.${hint}`);
    }
  }
  r.checkChildren(adapter, STORES);
  const found = adapter.children;
  if (found.length !== 1) {
    r.fail(found[1] ?? adapter, `<persistenceAdapter> must contain exactly one store element (${STORES.join(', ')}), found ${found.length}`);
  }
  const [store] = found;
  switch (store.name) {
    case 'kahaDB':
      return readKahaDB(r, store, ctx);
    case 'levelDB':
      return readLevelDB(r, store, ctx);
    case 'replicatedLevelDB':
      return readReplicated(r, store, ctx);
    default:
      return readJdbc(r, store, ctx);
  }
}

function readKahaDB(r: ConfigReader, el: XmlElement, ctx: PersistenceContext): JournalPersistence {
  r.checkAttributes(el, {
    mapped: ['directory', 'journalMaxFileLength', 'checkpointInterval', 'enableJournalDiskSyncs', 'indexCacheSize', 'journalDiskSyncStrategy', 'lockKeepAlivePeriod'],
    ignored: KAHADB_IGNORED_ATTRIBUTES,
  });
  const children = r.checkChildren(el, ['locker'], ['usageManager']);
  const p = defaultJournal(ctx.dataDirectory, 'kahaDB');
  p.directory = r.str(el, 'directory') ?? p.directory;
  p.journalMaxFileLengthBytes = r.sizeBytes(el, 'journalMaxFileLength') ?? p.journalMaxFileLengthBytes;
  p.checkpointIntervalMs = r.durationMs(el, 'checkpointInterval') ?? p.checkpointIntervalMs;
  p.enableJournalDiskSyncs = r.bool(el, 'enableJournalDiskSyncs') ?? p.enableJournalDiskSyncs;
  // ActiveMQ 5.14+: always | periodic | never; "never" is the same as enableJournalDiskSyncs="false".
  const strategy = r.str(el, 'journalDiskSyncStrategy');
  if (strategy !== undefined) {
    const s = strategy.trim().toLowerCase();
    if (s === 'never') p.enableJournalDiskSyncs = false;
    else if (s === 'always') p.enableJournalDiskSyncs = true;
    else if (s === 'periodic') {
      p.enableJournalDiskSyncs = true;
      r.warn(el, 'journalDiskSyncStrategy="periodic" is treated as "always": every batch is fsynced before it is acknowledged');
    } else r.fail(el, `invalid value "${strategy}" for journalDiskSyncStrategy on <kahaDB>; expected always, periodic or never`);
  }
  const indexCacheSize = r.int(el, 'indexCacheSize', 1);
  if (indexCacheSize !== undefined) p.indexCacheSize = indexCacheSize;
  readSharedFileLocker(r, el, children, p);
  return p;
}

/**
 * `lockKeepAlivePeriod` and `<locker><shared-file-locker lockAcquireSleepInterval failIfLocked/>`
 * (ActiveMQ's SharedFileLocker), DESIGN §5. 0 turns ActiveMQ's keep-alive off; here it cannot be
 * off, because without it a replaced lock file makes two masters: 0 gets the default and a warning.
 */
function readSharedFileLocker(r: ConfigReader, el: XmlElement, children: Map<string, XmlElement[]>, p: JournalPersistence): void {
  const keepAlive = r.durationMs(el, 'lockKeepAlivePeriod');
  if (keepAlive !== undefined) {
    if (keepAlive <= 0) r.warn(el, `lockKeepAlivePeriod="${keepAlive}" would let a replaced lock file go unnoticed (two masters); the default of ${DEFAULT_LOCK_KEEP_ALIVE_PERIOD_MS} ms is used`);
    else p.lockKeepAlivePeriodMs = keepAlive;
  }
  const locker = r.single(el, children, 'locker');
  if (locker === undefined) return;
  r.checkAttributes(locker, { mapped: [] });
  const lockers = r.checkChildren(locker, ['shared-file-locker']);
  const sfl = r.single(locker, lockers, 'shared-file-locker');
  if (sfl === undefined) return;
  r.checkAttributes(sfl, { mapped: ['lockAcquireSleepInterval', 'failIfLocked'], ignored: ['name', 'directory', 'lockable'] });
  const sleep = r.durationMs(sfl, 'lockAcquireSleepInterval');
  if (sleep !== undefined) {
    if (sleep <= 0) r.fail(sfl, 'lockAcquireSleepInterval on <shared-file-locker> must be above 0, e.g. 1000');
    p.lockAcquireSleepIntervalMs = sleep;
  }
  const failIfLocked = r.bool(sfl, 'failIfLocked');
  if (failIfLocked !== undefined) p.failIfLocked = failIfLocked;
}

function readLevelDB(r: ConfigReader, el: XmlElement, ctx: PersistenceContext): JournalPersistence {
  r.checkAttributes(el, { mapped: ['directory', 'logSize', 'sync'], ignored: LEVELDB_IGNORED_ATTRIBUTES });
  r.checkChildren(el, []);
  const p = defaultJournal(ctx.dataDirectory, 'levelDB');
  p.directory = r.str(el, 'directory') ?? p.directory;
  // LevelDBStore logSize is the log file rotation size, like KahaDB's journalMaxFileLength.
  p.journalMaxFileLengthBytes = r.sizeBytes(el, 'logSize') ?? p.journalMaxFileLengthBytes;
  p.enableJournalDiskSyncs = r.bool(el, 'sync') ?? p.enableJournalDiskSyncs;
  return p;
}

export function parseSyncTokens(r: ConfigReader, el: XmlElement, text: string): SyncToken[] {
  const tokens = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (tokens.length === 0) r.fail(el, `sync on <${el.name}> is empty; expected a comma list of ${SYNC_TOKENS.join(', ')}`);
  for (const t of tokens) {
    if (!(SYNC_TOKENS as readonly string[]).includes(t)) {
      r.fail(el, `unknown sync token "${t}" on <${el.name}>${didYouMean(t, SYNC_TOKENS) || '.'} Valid tokens: ${SYNC_TOKENS.join(', ')}`);
    }
  }
  return [...new Set(tokens)] as SyncToken[];
}

function readReplicated(r: ConfigReader, el: XmlElement, ctx: PersistenceContext): ReplicatedPersistence {
  r.checkAttributes(el, {
    mapped: ['directory', 'replicas', 'bind', 'zkAddress', 'zkPassword', 'zkPath', 'zkSessionTimeout', 'hostname', 'weight', 'securityToken', 'sync', 'syncTimeout', 'logSize'],
    ignored: REPLICATED_IGNORED_ATTRIBUTES,
  });
  r.checkChildren(el, []);
  const p = defaultReplicated(ctx.dataDirectory);
  p.directory = r.str(el, 'directory') ?? p.directory;
  p.journalMaxFileLengthBytes = r.sizeBytes(el, 'logSize') ?? p.journalMaxFileLengthBytes;
  p.replicas = r.int(el, 'replicas', 1, 99) ?? p.replicas;
  const bind = r.str(el, 'bind');
  if (bind !== undefined) {
    if (!/^tcp:\/\/[^:/]*:\d{1,5}$/.test(bind.trim()) || Number(bind.trim().split(':').at(-1)) > 65535) {
      r.fail(el, `invalid value "${bind}" for bind on <replicatedLevelDB>; expected tcp://host:port, e.g. tcp://0.0.0.0:61619 (port 0 = any free port)`);
    }
    p.bind = bind.trim();
  }
  p.zkAddress = r.str(el, 'zkAddress') ?? p.zkAddress;
  for (const hostPort of p.zkAddress.split(',')) {
    if (!/^[^:\s]+(:\d{1,5})?$/.test(hostPort.trim())) {
      r.fail(el, `invalid value "${p.zkAddress}" for zkAddress on <replicatedLevelDB>; expected a comma list of host:port`);
    }
  }
  p.zkPath = r.str(el, 'zkPath') ?? p.zkPath;
  if (!p.zkPath.startsWith('/') || (p.zkPath.length > 1 && p.zkPath.endsWith('/'))) {
    r.fail(el, `invalid value "${p.zkPath}" for zkPath on <replicatedLevelDB>; expected an absolute ZooKeeper path like /activemq/leveldb-stores`);
  }
  p.zkSessionTimeoutMs = r.durationMs(el, 'zkSessionTimeout') ?? p.zkSessionTimeoutMs;
  p.syncTimeoutMs = r.durationMs(el, 'syncTimeout') ?? p.syncTimeoutMs;
  p.weight = r.int(el, 'weight', 0) ?? p.weight;
  const zkPassword = r.str(el, 'zkPassword');
  if (zkPassword !== undefined && zkPassword !== '') p.zkPassword = zkPassword;
  const hostname = r.str(el, 'hostname');
  if (hostname !== undefined && hostname !== '') p.hostname = hostname;
  const securityToken = r.str(el, 'securityToken');
  if (securityToken !== undefined && securityToken !== '') p.securityToken = securityToken;
  const sync = r.str(el, 'sync');
  if (sync !== undefined) p.sync = parseSyncTokens(r, el, sync);
  return p;
}

function readJdbc(r: ConfigReader, el: XmlElement, ctx: PersistenceContext): JdbcPersistence {
  r.checkAttributes(el, {
    mapped: ['dataSource', 'lockKeepAlivePeriod', 'lockAcquireSleepInterval', 'createTablesOnStartup'],
    ignored: JDBC_IGNORED_ATTRIBUTES,
  });
  const children = r.checkChildren(el, ['statements', 'locker'], ['adapter', 'databaseLocker', 'wireFormat']);
  const ref = r.requiredStr(el, 'dataSource', 'a reference to a <bean> data source, e.g. dataSource="#postgres-ds"');
  const p = defaultJdbc(connectionStringFor(r, el, ref, ctx.beans));
  p.lockKeepAlivePeriodMs = r.durationMs(el, 'lockKeepAlivePeriod') ?? p.lockKeepAlivePeriodMs;
  p.lockAcquireSleepIntervalMs = r.durationMs(el, 'lockAcquireSleepInterval') ?? p.lockAcquireSleepIntervalMs;
  p.createTablesOnStartup = r.bool(el, 'createTablesOnStartup') ?? p.createTablesOnStartup;

  const statements = r.single(el, children, 'statements');
  if (statements !== undefined) {
    r.checkAttributes(statements, { mapped: [] });
    const inner = r.checkChildren(statements, ['statements']);
    const s = r.single(statements, inner, 'statements');
    if (s !== undefined) {
      r.checkAttributes(s, { mapped: ['tablePrefix'], ignored: JDBC_STATEMENTS_IGNORED_ATTRIBUTES });
      p.tablePrefix = r.str(s, 'tablePrefix') ?? p.tablePrefix;
    }
  }
  const locker = r.single(el, children, 'locker');
  if (locker !== undefined) {
    r.checkAttributes(locker, { mapped: [] });
    r.checkChildren(locker, ['lease-database-locker', 'database-locker']);
    for (const l of locker.children) {
      r.checkAttributes(l, { mapped: ['lockAcquireSleepInterval'], ignored: JDBC_LOCKER_IGNORED_ATTRIBUTES });
      r.checkChildren(l, [], ['statements']);
      p.lockAcquireSleepIntervalMs = r.durationMs(l, 'lockAcquireSleepInterval') ?? p.lockAcquireSleepIntervalMs;
    }
  }
  // LeaseDatabaseLocker: the lease lasts lockAcquireSleepInterval and is renewed every
  // lockKeepAlivePeriod, so a longer keep-alive lets the lease lapse between renewals and a
  // standby would take over from a healthy master. ActiveMQ only warns; here it is an error.
  const timingError = leaseTimingError({ keepAliveMs: p.lockKeepAlivePeriodMs, leaseMs: p.lockAcquireSleepIntervalMs });
  if (timingError !== undefined) r.fail(el, timingError);
  return p;
}

/** `#id` → the bean's properties → `postgres://user:password@host:port/db`. */
function connectionStringFor(r: ConfigReader, el: XmlElement, ref: string, beans: Map<string, BeanDefinition>): string {
  const trimmed = ref.trim();
  if (/^postgres(ql)?:\/\//.test(trimmed)) return trimmed;
  const id = trimmed.startsWith('#') ? trimmed.slice(1) : trimmed;
  const bean = beans.get(id);
  if (bean === undefined) {
    const known = [...beans.keys()];
    r.fail(
      el,
      `dataSource="${ref}" refers to no <bean id="${id}"> in this file${didYouMean(id, known) || '.'}` +
        (known.length > 0 ? ` Beans with an id: ${known.join(', ')}` : ' Define a <bean id="…"> data source in <beans>'),
    );
  }
  const prop = (name: string): string | undefined => {
    const raw = bean.properties[name];
    return raw === undefined ? undefined : r.resolve(bean.el, `<bean id="${id}"> property ${name}`, raw);
  };
  // Only PostgreSQL's protocol is spoken (through `pg`): another vendor's driver or data source
  // class would silently be talked to as PostgreSQL, so it is refused by name.
  const driver = prop('driverClassName') ?? prop('driverClass');
  if (driver !== undefined && driver.trim() !== 'org.postgresql.Driver') {
    r.unsupported(bean.el, `<bean id="${id}">: driverClassName "${driver}" is not PostgreSQL's; only PostgreSQL is supported (org.postgresql.Driver)`);
  }
  if (/mysql|mariadb|oracle|derby|hsqldb|\.h2\.|sqlserver|jtds|db2|sybase|informix/i.test(bean.className)) {
    r.unsupported(bean.el, `<bean id="${id}" class="${bean.className}"> is another database vendor's data source; only PostgreSQL is supported (org.postgresql.ds.PGPoolingDataSource, PGSimpleDataSource, or a pool with a jdbc:postgresql:// url)`);
  }
  const user = prop('username') ?? prop('user');
  const password = prop('password');
  const jdbcUrl = prop('url') ?? prop('jdbcUrl') ?? prop('URL');
  let host: string;
  let port: string | undefined;
  let database: string;
  let query = '';
  if (jdbcUrl !== undefined) {
    // jdbc:postgresql://host[:port]/database[?params] or jdbc:postgresql:database (localhost)
    const m = /^jdbc:postgresql:(?:\/\/([^/:?]+|\[[^\]]+\])(?::(\d+))?\/)?([^?]*)(\?.*)?$/.exec(jdbcUrl.trim());
    if (m === null) {
      r.unsupported(bean.el, `<bean id="${id}">: url "${jdbcUrl}" is not a PostgreSQL JDBC URL; only PostgreSQL is supported (jdbc:postgresql://host:port/database)`);
    }
    host = m[1] ?? 'localhost';
    port = m[2];
    database = m[3];
    query = m[4] ?? '';
  } else if (/postgres/i.test(bean.className)) {
    // org.postgresql.ds.PGSimpleDataSource / PGPoolingDataSource properties
    host = prop('serverName') ?? prop('serverNames') ?? 'localhost';
    port = prop('portNumber') ?? prop('portNumbers');
    database = prop('databaseName') ?? '';
  } else {
    r.unsupported(bean.el, `<bean id="${id}" class="${bean.className}"> is not a PostgreSQL data source (no url property); only PostgreSQL is supported`);
  }
  const credentials =
    user === undefined ? '' : `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@`;
  return `postgres://${credentials}${host}${port === undefined ? '' : `:${port}`}/${database}${query}`;
}
