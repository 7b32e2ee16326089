/**
 * Default values, in one place. Where ActiveMQ has a default for the same setting we keep it
 * (sources noted); where DESIGN.md chose differently, DESIGN wins and says why.
 */
import type {
  BrokerConfig,
  JdbcPersistence,
  JournalPersistence,
  RedeliveryPolicy,
  ReplicatedPersistence,
  StompLimits,
  VirtualTopicRule,
} from './types.js';

const MiB = 1024 * 1024;

export const DEFAULT_BROKER_NAME = 'localhost';
export const DEFAULT_DATA_DIRECTORY = './data';
export const DEFAULT_MEMORY_LIMIT_BYTES = 64 * MiB;

export const DEFAULT_STOMP_LIMITS: StompLimits = {
  maxBodyBytes: 100 * MiB, // ActiveMQ's StompWireFormat maxDataLength
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 1000,
  frameTimeoutMs: 30_000,
};

export const DEFAULT_HTTP = { host: '127.0.0.1', port: 8161 } as const;

/** ActiveMQ's VirtualTopic defaults (BrokerService useVirtualTopics=true): name `VirtualTopic.>`, prefix `Consumer.*.`. */
export const DEFAULT_VIRTUAL_TOPIC: VirtualTopicRule = { name: 'VirtualTopic.>', prefix: 'Consumer.*.', postfix: '' };

/** DESIGN §4 / broker plugin default: ActiveMQ's RedeliveryPolicy retries 6 times. */
export const DEFAULT_REDELIVERY_POLICY: RedeliveryPolicy = { maximumRedeliveries: 6, redeliveryDelayMs: 0 };

/** `dir` + `/` + `child` without normalising away a leading `./` the user wrote. */
export function childPath(dir: string, child: string): string {
  return `${dir.replace(/[/\\]+$/, '')}/${child}`;
}

/**
 * Shared file system locker defaults (DESIGN §5). ActiveMQ's KahaDB has lockKeepAlivePeriod 0
 * (a replaced lock file goes unnoticed: two masters) and lockAcquireSleepInterval 10 s; here the
 * keep-alive is on, and a waiter is woken by the kernel, the interval only paces its re-checks.
 */
export const DEFAULT_LOCK_KEEP_ALIVE_PERIOD_MS = 1000;
export const DEFAULT_LOCK_ACQUIRE_SLEEP_INTERVAL_MS = 1000;

export function defaultJournal(dataDirectory: string, flavour: JournalPersistence['flavour'] = 'default'): JournalPersistence {
  const subdir = flavour === 'kahaDB' ? 'kahadb' : flavour === 'levelDB' ? 'leveldb' : 'journal';
  return {
    kind: 'journal',
    flavour,
    directory: childPath(dataDirectory, subdir),
    journalMaxFileLengthBytes: 32 * MiB, // KahaDB journalMaxFileLength
    checkpointIntervalMs: 5000, // KahaDB checkpointInterval
    enableJournalDiskSyncs: true,
  };
}

export function defaultReplicated(dataDirectory: string): ReplicatedPersistence {
  return {
    kind: 'replicatedLevelDB',
    directory: childPath(dataDirectory, 'leveldb'),
    replicas: 3,
    bind: 'tcp://0.0.0.0:61619',
    zkAddress: '127.0.0.1:2181', // ElectingLevelDBStore default
    zkPath: '/default', // ElectingLevelDBStore default
    zkSessionTimeoutMs: 2000,
    weight: 1,
    // DESIGN §4: quorum_disk, not ActiveMQ's quorum_mem, so an acknowledged send survives power loss.
    sync: ['quorum_disk'],
    // DESIGN §4 says waits are bounded; ActiveMQ had no such bound. Issue 5 sets 30 s: it
    // outlasts a ZooKeeper session expiry (2 s), a slave reconnect and a catch-up of some size.
    syncTimeoutMs: 30_000,
    journalMaxFileLengthBytes: 32 * MiB,
  };
}

export function defaultJdbc(connectionString: string): JdbcPersistence {
  return {
    kind: 'jdbc',
    connectionString,
    tablePrefix: '', // ActiveMQ Statements default
    // The lease length is lockAcquireSleepInterval (LeaseDatabaseLocker), so the keep-alive must be
    // shorter than it; these are the values ActiveMQ's docs recommend for the lease locker.
    lockKeepAlivePeriodMs: 5000,
    lockAcquireSleepIntervalMs: 10_000,
    createTablesOnStartup: true, // JDBCPersistenceAdapter default
  };
}

/** What `quorummq start` with no config runs (DESIGN §1). */
export function baseDefaultConfig(): BrokerConfig {
  return {
    brokerName: DEFAULT_BROKER_NAME,
    dataDirectory: DEFAULT_DATA_DIRECTORY,
    transportConnectors: [
      { name: 'openwire', uri: 'tcp://127.0.0.1:61616', scheme: 'tcp', host: '127.0.0.1', port: 61616, options: {} },
      { name: 'stomp', uri: 'stomp://127.0.0.1:61613', scheme: 'stomp', host: '127.0.0.1', port: 61613, options: {} },
      { name: 'ws', uri: 'ws://127.0.0.1:61614', scheme: 'ws', host: '127.0.0.1', port: 61614, options: {} },
    ],
    persistence: defaultJournal(DEFAULT_DATA_DIRECTORY),
    policies: [],
    defaultRedeliveryPolicy: { ...DEFAULT_REDELIVERY_POLICY },
    memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES,
    stomp: { ...DEFAULT_STOMP_LIMITS },
    virtualTopics: [{ ...DEFAULT_VIRTUAL_TOPIC }],
    http: { ...DEFAULT_HTTP },
    source: '<defaults>',
  };
}
