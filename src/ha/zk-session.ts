/**
 * One ZooKeeper session, and only what the replicated store needs from it. It wraps
 * node-zookeeper-client (pure JS, has multi) and adds what that client lacks:
 * - a liveness watchdog (see `zookeeper/liveness.ts`), since the client never notices a frozen server;
 * - a deadline on every operation, since the client's calls can hang for as long as the server is frozen;
 * - one-way session life: once LOST, the session is closed for good and the owner opens a new
 *   one and registers again. A session is never silently revived under the owner's feet.
 *
 * With `digestAuth` (the `zkPassword` attribute) the session authenticates with ZooKeeper's digest
 * scheme and every znode it creates below the group's ancestors (the group node itself, members,
 * the epoch) gets CREATOR_ALL: only the same identity may read, change or list it. Without it
 * every znode is open, as before.
 *
 * Events: `connected` (once), `suspended` ({why, silentMs}: stop acting as master), `reconnected`
 * (the same session is served again), `lost` ({why, silentMs}: the session is gone; this object
 * is closed).
 */
import { EventEmitter } from 'node:events';
import zookeeper from 'node-zookeeper-client';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { QmqError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { SessionLiveness, type LivenessTransition } from './zookeeper/liveness.js';

export interface ZkSessionOptions {
  /** `host:port,host:port[/chroot]`, as in the `zkAddress` attribute. */
  connectString: string;
  /** What we ask for; the server grants something between 2 and 20 ticks. */
  sessionTimeoutMs: number;
  /** Bound on each operation; default: the granted session timeout. */
  operationTimeoutMs?: number;
  /** Bound on establishing the session; default: 5 × the requested session timeout. */
  connectTimeoutMs?: number;
  /** `user:password` for ZooKeeper's digest scheme (the `zkPassword` attribute). */
  digestAuth?: string;
  clock?: Clock;
  logger?: Logger;
}

export type ZkSessionState = 'connected' | 'suspended' | 'lost' | 'closed';

export interface ZkChild {
  name: string;
  path: string;
  data: Buffer;
  version: number;
}

export type CompareAndSetResult = { ok: true; version: number } | { ok: false; reason: 'version-mismatch' | 'exists' | 'missing' };

type ZkClient = zookeeper.Client;

// The client's ACL constants are missing from its type definitions, so they are spelled out.
const OPEN_TO_ANYONE = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
/** "auth" stands for every identity the creating session authenticated as. */
const CREATOR_ALL = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('auth', ''))];
type ZkError = Error | zookeeper.Exception | null;

function errorCode(e: unknown): number | undefined {
  return e instanceof zookeeper.Exception ? e.getCode() : undefined;
}

/**
 * A NoAuth answer is a configuration problem, not an outage: retrying will not help until the
 * operator makes the passwords agree, so the message says exactly that.
 */
function notAuthorised(what: string, withPassword: boolean, cause: unknown): QmqError {
  const why = withPassword
    ? 'this node\'s zkPassword is not the one the group\'s znodes were created with'
    : 'the group\'s znodes are protected by a zkPassword and this node has none';
  return new QmqError('CONFIG_INVALID', `ZooKeeper refused ${what}: not authorised (NoAuth): ${why}`, { cause });
}

function unavailable(what: string, cause?: unknown): QmqError {
  return new QmqError('NO_QUORUM', `ZooKeeper: ${what}`, cause === undefined ? {} : { cause });
}

export class ZkSession extends EventEmitter {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly operationTimeoutMs: number;
  private liveness: SessionLiveness;
  private probeTimer: TimerHandle | null = null;
  private probeInFlight = false;
  private current: ZkSessionState = 'connected';
  private lostReason: string | null = null;
  private readonly withPassword: boolean;
  /**
   * What every znode this session creates carries. CREATOR_ALL ("auth" scheme) means the
   * identities this session authenticated as, here the one digest user:password; ZooKeeper
   * refuses it (InvalidACL) on a session without credentials, so it is used only with them.
   */
  private readonly acls: zookeeper.ACL[];
  /**
   * One watcher function per watched path, so the client registers each path once: it keeps
   * every distinct function it is given until the path changes, and a group that is re-read
   * without changing (after every suspension) would otherwise pile up listeners.
   */
  private readonly watchers = new Map<string, () => void>();
  private readonly watchCallbacks = new Map<string, Set<() => void>>();

  private constructor(
    private readonly client: ZkClient,
    readonly grantedSessionTimeoutMs: number,
    opts: ZkSessionOptions,
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.operationTimeoutMs = opts.operationTimeoutMs ?? grantedSessionTimeoutMs;
    this.liveness = new SessionLiveness(grantedSessionTimeoutMs, this.clock.now());
    this.withPassword = opts.digestAuth !== undefined && opts.digestAuth !== '';
    this.acls = this.withPassword ? CREATOR_ALL : OPEN_TO_ANYONE;
    client.on('disconnected', () => this.apply(this.liveness.onDisconnected(this.clock.now())));
    client.on('connected', () => this.apply(this.liveness.onConnected(this.clock.now())));
    client.on('expired', () => this.apply(this.liveness.onExpired(this.clock.now())));
    client.on('authenticationFailed', () => this.markLost('ZooKeeper rejected the credentials (zkPassword)'));
    this.scheduleProbe();
  }

  /** Opens a session; rejects with NO_QUORUM when no server grants one in time. */
  static connect(opts: ZkSessionOptions): Promise<ZkSession> {
    const client = zookeeper.createClient(opts.connectString, {
      sessionTimeout: opts.sessionTimeoutMs,
      spinDelay: 100,
      retries: 0,
    });
    if (opts.digestAuth) client.addAuthInfo('digest', Buffer.from(opts.digestAuth));
    const clock = opts.clock ?? systemClock;
    const connectTimeoutMs = opts.connectTimeoutMs ?? opts.sessionTimeoutMs * 5;
    return new Promise<ZkSession>((resolve, reject) => {
      const timer = clock.schedule(connectTimeoutMs, () => {
        client.removeListener('connected', onConnected);
        forceClose(client);
        reject(unavailable(`no server of ${opts.connectString} granted a session within ${connectTimeoutMs} ms`));
      });
      // Never removeAllListeners(): the client turns its 'state' events into 'connected',
      // 'disconnected' and 'expired' through a listener of its own.
      const onConnected = (): void => {
        timer.cancel();
        const granted = client.getSessionTimeout();
        const session = new ZkSession(client, granted, opts);
        session.log.info(
          { connectString: opts.connectString, requestedMs: opts.sessionTimeoutMs, grantedMs: granted },
          'ZooKeeper session established',
        );
        resolve(session);
        session.emit('connected');
      };
      client.once('connected', onConnected);
      client.connect();
    });
  }

  /** True while ZooKeeper has certainly not expired this session (see `SessionLiveness.isFresh`). */
  isFresh(): boolean {
    // A dropped connection alone is not expiry: ZooKeeper expires a session only T after it last
    // heard from it, and `liveness` dates that from the last answered request's send time.
    return this.current !== 'lost' && this.current !== 'closed' && this.liveness.isFresh(this.clock.now());
  }

  get state(): ZkSessionState {
    return this.current;
  }

  /** Why the session was lost (null while it is alive). */
  get lostBecause(): string | null {
    return this.lostReason;
  }

  /** The session id as hex, for logs. */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  // --- watchdog ---------------------------------------------------------------------------

  private scheduleProbe(): void {
    this.probeTimer = this.clock.schedule(this.liveness.probeIntervalMs, () => {
      this.probeTimer = null;
      if (this.ended()) return;
      this.apply(this.liveness.check(this.clock.now()));
      if (this.ended()) return;
      // One probe at a time: against a frozen server, more would only queue up behind it.
      if (!this.probeInFlight) {
        this.probeInFlight = true;
        const sentAt = this.clock.now();
        this.client.exists('/', (err) => {
          this.probeInFlight = false;
          // An error reply (other than a lost connection) still proves the server is serving us.
          if (!err || (errorCode(err) !== zookeeper.Exception.CONNECTION_LOSS && errorCode(err) !== zookeeper.Exception.SESSION_EXPIRED)) {
            this.apply(this.liveness.onAnswer(this.clock.now(), sentAt));
          }
        });
      }
      this.scheduleProbe();
    });
  }

  private ended(): boolean {
    return this.current === 'lost' || this.current === 'closed';
  }

  private apply(t: LivenessTransition | null): void {
    if (!t || this.current === 'closed' || this.current === 'lost') return;
    if (t.to === 'suspended') {
      this.current = 'suspended';
      this.log.warn({ silentMs: t.silentMs, why: t.why }, 'ZooKeeper session suspended');
      this.emit('suspended', { why: t.why, silentMs: t.silentMs });
    } else if (t.to === 'reconnected') {
      this.current = 'connected';
      this.log.info({ silentMs: t.silentMs }, 'ZooKeeper session served again');
      this.emit('reconnected');
    } else {
      this.markLost(t.why, t.silentMs);
    }
  }

  private markLost(why: string, silentMs = this.liveness.silentMs(this.clock.now())): void {
    if (this.current === 'lost' || this.current === 'closed') return;
    this.current = 'lost';
    this.lostReason = why;
    this.stopClient();
    this.log.warn({ why, silentMs }, 'ZooKeeper session lost; the owner must open a new one');
    this.emit('lost', { why, silentMs });
  }

  private stopClient(): void {
    this.probeTimer?.cancel();
    this.probeTimer = null;
    // Listeners stay: apply() ignores everything once the session is lost or closed.
    forceClose(this.client);
  }

  /** Ends the session (its ephemeral nodes go at once if the server is reachable). */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    const wasAlive = this.current !== 'lost';
    this.current = 'closed';
    this.probeTimer?.cancel();
    this.probeTimer = null;
    if (!wasAlive) return;
    // A graceful close lets the server delete our ephemerals now rather than at expiry; but a
    // frozen server would never answer, so the wait is bounded.
    await new Promise<void>((resolve) => {
      const timer = this.clock.schedule(Math.min(this.operationTimeoutMs, 2000), () => {
        forceClose(this.client);
        resolve();
      });
      this.client.once('disconnected', () => {
        timer.cancel();
        resolve();
      });
      this.client.close();
    });
  }

  // --- operations -------------------------------------------------------------------------

  /** Runs one client call with a deadline; fails fast when the session is not usable. */
  private call<T>(what: string, run: (done: (err: ZkError, value?: T) => void) => void): Promise<T> {
    if (this.current === 'lost' || this.current === 'closed') {
      return Promise.reject(unavailable(`${what}: the session is ${this.current}${this.lostReason ? ` (${this.lostReason})` : ''}`));
    }
    const sentAt = this.clock.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.clock.schedule(this.operationTimeoutMs, () => {
        if (settled) return;
        settled = true;
        reject(unavailable(`${what}: no answer within ${this.operationTimeoutMs} ms`));
      });
      run((err, value) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (!err || errorCode(err) !== zookeeper.Exception.CONNECTION_LOSS) this.apply(this.liveness.onAnswer(this.clock.now(), sentAt));
        if (errorCode(err) === zookeeper.Exception.NO_AUTH) reject(notAuthorised(what, this.withPassword, err));
        else if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  /** Creates `pathPrefix` + a sequence number, deleted when this session ends; returns the full path. */
  createEphemeralSequential(pathPrefix: string, data: Buffer | string): Promise<string> {
    return this.call(`create ${pathPrefix}`, (done) =>
      this.client.create(pathPrefix, toBuffer(data), this.acls, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (err, path) => done(err, path)),
    );
  }

  /**
   * Creates every missing persistent node along `path`. Only `path` itself gets this session's
   * ACL: its ancestors are namespaces other groups share (ActiveMQ's default zkPath is
   * /activemq/leveldb-stores), and a password on them would lock every other group out.
   * A node that already exists keeps whatever ACL it has.
   */
  async ensurePath(path: string): Promise<void> {
    const cut = path.lastIndexOf('/');
    const parent = path.slice(0, cut);
    if (parent !== '') {
      await this.call<string>(`mkdirp ${parent}`, (done) => this.client.mkdirp(parent, OPEN_TO_ANYONE, (err, p) => done(err, p)));
    }
    try {
      await this.call<string>(`create ${path}`, (done) =>
        this.client.create(path, this.acls, zookeeper.CreateMode.PERSISTENT, (err, p) => done(err, p)),
      );
    } catch (e) {
      if (errorCode(e) !== zookeeper.Exception.NODE_EXISTS) throw e;
    }
  }

  async getData(path: string): Promise<{ data: Buffer; version: number } | null> {
    try {
      return await this.call(`getData ${path}`, (done) =>
        this.client.getData(path, (err, data, stat) => done(err, err ? undefined : { data: data ?? Buffer.alloc(0), version: stat.version })),
      );
    } catch (e) {
      if (errorCode(e) === zookeeper.Exception.NO_NODE) return null;
      throw e;
    }
  }

  /** Overwrites a node's data (any version); returns the new version. */
  setData(path: string, data: Buffer | string): Promise<number> {
    return this.call(`setData ${path}`, (done) => this.client.setData(path, toBuffer(data), -1, (err, stat) => done(err, stat?.version)));
  }

  /**
   * Writes `data` only if the node is still at `expectedVersion`; `expectedVersion` -1 means
   * "create it, it must not exist yet". This is how a new master takes its epoch (DESIGN §4 step 3).
   */
  async compareAndSet(path: string, expectedVersion: number, data: Buffer | string): Promise<CompareAndSetResult> {
    try {
      if (expectedVersion === -1) {
        await this.call<string>(`create ${path}`, (done) =>
          this.client.create(path, toBuffer(data), this.acls, zookeeper.CreateMode.PERSISTENT, (err, p) => done(err, p)),
        );
        return { ok: true, version: 0 };
      }
      const version = await this.call<number>(`setData ${path}@${expectedVersion}`, (done) =>
        this.client.setData(path, toBuffer(data), expectedVersion, (err, stat) => done(err, stat?.version)),
      );
      return { ok: true, version };
    } catch (e) {
      const code = errorCode(e);
      if (code === zookeeper.Exception.BAD_VERSION) return { ok: false, reason: 'version-mismatch' };
      if (code === zookeeper.Exception.NODE_EXISTS) return { ok: false, reason: 'exists' };
      if (code === zookeeper.Exception.NO_NODE) return { ok: false, reason: 'missing' };
      throw e;
    }
  }

  async remove(path: string, version = -1): Promise<void> {
    await this.call<void>(`remove ${path}`, (done) => this.client.remove(path, version, (err) => done(err)));
  }

  /**
   * The children of `path` with their data, sorted by name. `onChange` fires at most once, on
   * the first change after this call: a child added or removed, or a listed child's data
   * changed (members update their position and role). Call again to keep watching.
   */
  async getChildrenWithData(path: string, onChange?: () => void): Promise<ZkChild[]> {
    let fired = false;
    const watched: string[] = [];
    const fire = onChange
      ? () => {
          if (fired) return;
          fired = true;
          for (const p of watched) this.watchCallbacks.get(p)?.delete(fire!);
          if (this.current === 'closed' || this.current === 'lost') return;
          onChange();
        }
      : undefined;
    const watch = (p: string): (() => void) => {
      watched.push(p);
      return this.watcherFor(p, fire!);
    };
    const names = await this.call<string[]>(`getChildren ${path}`, (done) =>
      fire ? this.client.getChildren(path, watch(path), (err, c) => done(err, c)) : this.client.getChildren(path, (err, c) => done(err, c)),
    );
    const out: ZkChild[] = [];
    for (const name of [...names].sort()) {
      const childPath = `${path === '/' ? '' : path}/${name}`;
      try {
        const child = await this.call<{ data: Buffer; version: number }>(`getData ${childPath}`, (done) => {
          const cb = (err: ZkError, data: Buffer, stat: zookeeper.Stat) =>
            done(err, err ? undefined : { data: data ?? Buffer.alloc(0), version: stat.version });
          if (fire) this.client.getData(childPath, watch(childPath), cb);
          else this.client.getData(childPath, cb);
        });
        out.push({ name, path: childPath, ...child });
      } catch (e) {
        // Gone between the listing and the read: the children watch has fired or will fire.
        if (errorCode(e) === zookeeper.Exception.NO_NODE) continue;
        throw e;
      }
    }
    return out;
  }

  /** The path's one watcher function, with `callback` added to what it runs when the path changes. */
  private watcherFor(path: string, callback: () => void): () => void {
    let callbacks = this.watchCallbacks.get(path);
    if (!callbacks) this.watchCallbacks.set(path, (callbacks = new Set()));
    callbacks.add(callback);
    let watcher = this.watchers.get(path);
    if (!watcher) {
      watcher = () => {
        // A ZooKeeper watch fires once; the next read registers afresh.
        const due = [...(this.watchCallbacks.get(path) ?? [])];
        this.watchCallbacks.delete(path);
        this.watchers.delete(path);
        for (const cb of due) cb();
      };
      this.watchers.set(path, watcher);
    }
    return watcher;
  }
}

function toBuffer(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Closes the client without waiting for the server. `close()` alone queues a CLOSE_SESSION and
 * keeps the socket until the server answers, which a frozen server never does; destroying the
 * socket after it makes the client settle in CLOSED (its CLOSING state does not reconnect).
 */
function forceClose(client: ZkClient): void {
  try {
    client.close();
  } catch {
    // already closed
  }
  const socket = (client as unknown as { connectionManager?: { socket?: { destroy(): void } } }).connectionManager?.socket;
  socket?.destroy();
}
