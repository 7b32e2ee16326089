/**
 * The one typed configuration a broker runs from. The XML loader (`config/xml-loader.ts`), the
 * CLI flags and embedding code all produce this; `config/schema.ts` validates it.
 * Names say their units.
 */
export type SyncToken = 'local_mem' | 'local_disk' | 'remote_mem' | 'remote_disk' | 'quorum_mem' | 'quorum_disk';

export interface MemoryPersistence {
  kind: 'memory';
}

/** `<kahaDB>` / `<levelDB>`: the journal store (segmented log + LevelDB index). */
export interface JournalPersistence {
  kind: 'journal';
  /** Which ActiveMQ element it came from; both select the same store. */
  flavour: 'kahaDB' | 'levelDB' | 'default';
  directory: string;
  journalMaxFileLengthBytes: number;
  checkpointIntervalMs: number;
  /** false = no fsync (ActiveMQ's enableJournalDiskSyncs=false); unsafe, for tests and benchmarks. */
  enableJournalDiskSyncs: boolean;
  indexCacheSize?: number;
  /**
   * Shared file system master/slave (DESIGN §5): how often the master checks that the lock file
   * still exists and still carries its epoch (`lockKeepAlivePeriod`, default 1000 ms).
   */
  lockKeepAlivePeriodMs?: number;
  /** `<shared-file-locker lockAcquireSleepInterval>`: how often a waiter re-checks the lock file (default 1000 ms). */
  lockAcquireSleepIntervalMs?: number;
  /** `<shared-file-locker failIfLocked>`: a locked store is a startup error instead of a wait (default false). */
  failIfLocked?: boolean;
}

export interface ReplicatedPersistence {
  kind: 'replicatedLevelDB';
  directory: string;
  replicas: number;
  bind: string;
  zkAddress: string;
  zkPath: string;
  zkPassword?: string;
  zkSessionTimeoutMs: number;
  hostname?: string;
  weight: number;
  securityToken?: string;
  sync: SyncToken[];
  syncTimeoutMs: number;
  /** Segment rotation size (`logSize`, as on `<levelDB>`). */
  journalMaxFileLengthBytes: number;
}

export interface JdbcPersistence {
  kind: 'jdbc';
  /** A `postgres://` connection string, built from the `<bean>` data source when given as XML. */
  connectionString: string;
  tablePrefix: string;
  lockKeepAlivePeriodMs: number;
  lockAcquireSleepIntervalMs: number;
  createTablesOnStartup: boolean;
}

export type PersistenceConfig = MemoryPersistence | JournalPersistence | ReplicatedPersistence | JdbcPersistence;

/** `tcp`, `nio` and their `+ssl`/`ssl` forms are OpenWire, as in ActiveMQ; the `stomp` ones and `ws` are STOMP. */
export type ConnectorScheme =
  | 'tcp'
  | 'nio'
  | 'ssl'
  | 'nio+ssl'
  | 'stomp'
  | 'stomp+nio'
  | 'stomp+ssl'
  | 'stomp+nio+ssl'
  | 'ws'
  | 'wss'
  | 'mqtt'
  | 'mqtt+nio'
  | 'mqtt+ssl'
  | 'mqtt+nio+ssl';

export interface TransportConnectorConfig {
  name: string;
  /** The original URI, for messages. */
  uri: string;
  scheme: ConnectorScheme;
  host: string;
  /** 0 = take a free port from the OS. */
  port: number;
  /** Query options from the URI (`maxFrameSize`, `transport.hbGracePeriodMultiplier`, …). */
  options: Record<string, string>;
}

export type DeadLetterStrategy =
  | { kind: 'shared'; queueName: string; processExpired: boolean; processNonPersistent: boolean }
  | {
      kind: 'individual';
      queuePrefix: string;
      topicPrefix: string;
      useQueueForQueueMessages: boolean;
      useQueueForTopicMessages: boolean;
      processExpired: boolean;
      processNonPersistent: boolean;
    }
  | { kind: 'discarding' };

export interface RedeliveryPolicy {
  /** Deliveries after the first before the message goes to the dead-letter queue; -1 = forever. */
  maximumRedeliveries: number;
  /** Delay before a NACKed message is offered again. */
  redeliveryDelayMs: number;
}

export interface PolicyEntry {
  /** Exactly one of `queue` / `topic` is set: an ActiveMQ wildcard pattern (`>`, `foo.*`). */
  queue?: string;
  topic?: string;
  prioritizedMessages: boolean;
  /** Per-destination memory limit; producers are slowed when it is reached. */
  memoryLimitBytes?: number;
  deadLetterStrategy?: DeadLetterStrategy;
  redeliveryPolicy?: RedeliveryPolicy;
}

export interface StompLimits {
  /** Largest body accepted (ActiveMQ `maxDataLength`, 100 MiB). */
  maxBodyBytes: number;
  /** Total bytes of the command and header lines of one frame. */
  maxHeaderBytes: number;
  /** Number of header lines in one frame. */
  maxHeaders: number;
  /** A client that starts a frame must finish it within this time. */
  frameTimeoutMs: number;
}

/**
 * One `<virtualTopic>` (ActiveMQ VirtualTopic): sends to topics matching `name` are copied to the
 * existing queues named `prefix + topic + postfix` (`*` in `prefix` matches any one element).
 */
export interface VirtualTopicRule {
  name: string;
  prefix: string;
  postfix: string;
}

/** `<simpleAuthenticationPlugin>`: who may connect (ActiveMQ SimpleAuthenticationPlugin). */
export interface AuthenticationConfig {
  /** A CONNECT without `login` is let in (ActiveMQ `anonymousAccessAllowed`, default false). */
  anonymousAccessAllowed: boolean;
  users: { username: string; password: string; groups: string[] }[];
  /** The name and group an anonymous client gets (ActiveMQ's defaults: both `anonymous`). */
  anonymousUser?: string;
  anonymousGroup?: string;
}

/** Groups allowed each operation on a destination; `*` stands for every group. */
export interface AclSet {
  read: string[];
  write: string[];
  admin: string[];
}

/** One `<authorizationEntry queue="…">` or `topic="…"`: a destination pattern (wildcards allowed) and its ACLs. */
export interface AuthorizationEntry extends AclSet {
  kind: 'queue' | 'topic';
  pattern: string;
}

/** `<authorizationPlugin>` with an `<authorizationMap>` (ActiveMQ DefaultAuthorizationMap). */
export interface AuthorizationConfig {
  entries: AuthorizationEntry[];
  /** `<tempDestinationAuthorizationEntry>`; absent, temporary destinations are open to every user. */
  temp?: AclSet;
  /** `<defaultEntry>`: added to every ordinary destination's ACLs. */
  defaultEntry?: AclSet;
}

export interface BrokerConfig {
  brokerName: string;
  dataDirectory: string;
  transportConnectors: TransportConnectorConfig[];
  persistence: PersistenceConfig;
  policies: PolicyEntry[];
  /** Used when no policy entry sets a redelivery policy. */
  defaultRedeliveryPolicy: RedeliveryPolicy;
  /** Broker-wide limit on message bytes held in memory before producers are slowed. */
  memoryLimitBytes: number;
  stomp: StompLimits;
  /** Virtual topics; ActiveMQ's default rule unless `useVirtualTopics="false"` or a `<virtualDestinationInterceptor>` says otherwise. */
  virtualTopics: VirtualTopicRule[];
  /** Absent: every client may connect, as in ActiveMQ without a security plugin. */
  authentication?: AuthenticationConfig;
  /** ActiveMQ's `schedulerSupport`: honour AMQ_SCHEDULED_DELAY/PERIOD/REPEAT (default false, as in ActiveMQ). */
  schedulerSupport?: boolean;
  /** Absent: an authenticated client may do anything, as in ActiveMQ without an authorization plugin. */
  authorization?: AuthorizationConfig;
  /** The node's HTTP port (health, status, console); 0 turns it off. */
  http: { host: string; port: number };
  /** Where the config came from, for messages (`<code>` when built in code). */
  source: string;
}
