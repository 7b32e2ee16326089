import fs from 'node:fs';
import path from 'node:path';
import { tryLock, waitForLock } from 'fs-native-extensions';
import { QmqError } from '../../util/errors.js';
import { decodeLockRecord, encodeLockRecord, type DecodedLock, type LockRecord } from './lock-record.js';

/** The lock file's name in a store directory; the journal's own tools lock the same file. */
export const LOCK_FILE_NAME = 'lock';

const READ_LIMIT_BYTES = 4096;

/**
 * One open description of `<directory>/lock` and the exclusive OFD `fcntl` lock on it
 * (through fs-native-extensions). The kernel drops the lock when the description closes,
 * including when the process is killed with `kill -9`; NFSv4 honours the same lock through its
 * lease. Two descriptions conflict even inside one process, so in-process tests see the same
 * exclusion as two brokers.
 */
export class LockFile {
  private fd: number | null;
  private held = false;
  /** A `waitForLock` in progress: its native thread still uses `fd`, so `fd` may not close yet. */
  private waiting: Promise<void> | null = null;
  private closeRequested = false;

  private constructor(
    readonly file: string,
    fd: number,
    private readonly identity: { dev: number; ino: number },
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating if needed) `<directory>/lock` for reading and writing. A directory or lock
   * file the broker may not write is a clear startup error, not a silent wait.
   */
  static open(directory: string): LockFile {
    const file = path.join(directory, LOCK_FILE_NAME);
    try {
      fs.mkdirSync(directory, { recursive: true });
    } catch (e) {
      throw lockIoError(`cannot create the store directory ${directory}`, e);
    }
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    } catch (e) {
      throw lockIoError(`cannot open the lock file ${file} for writing`, e);
    }
    const st = fs.fstatSync(fd);
    return new LockFile(file, fd, { dev: st.dev, ino: st.ino });
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Takes the lock if it is free; false when another description holds it. */
  tryLock(): boolean {
    const fd = this.openFd();
    try {
      this.held = tryLock(fd);
    } catch (e) {
      throw lockIoError(`cannot lock ${this.file}`, e);
    }
    return this.held;
  }

  /**
   * Resolves once the lock is ours. The wait runs on a thread of its own (not libuv's pool, so
   * file I/O elsewhere in the broker is not starved) and cannot be cancelled: `close()` during
   * a wait only takes effect when the wait ends, and then releases the lock at once.
   */
  waitForLock(): Promise<void> {
    const fd = this.openFd();
    if (this.waiting) return this.waiting;
    const wait = waitForLock(fd).then(
      () => {
        this.waiting = null;
        this.held = true;
        if (this.closeRequested) this.close();
      },
      (e: unknown) => {
        this.waiting = null;
        if (this.closeRequested) this.close();
        throw lockIoError(`cannot wait for the lock on ${this.file}`, e);
      },
    );
    this.waiting = wait;
    return wait;
  }

  /**
   * Why this description no longer guards the store, or null if it still does: the path must
   * still name the file we opened (not deleted, not replaced) and, if `expected` is given,
   * the file must still carry that holder and epoch. An error while checking counts as lost:
   * a master that cannot prove it holds the lock must stop writing.
   */
  lostReason(expected?: LockRecord): string | null {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? `the lock file ${this.file} was deleted` : `the lock file ${this.file} cannot be checked (${code ?? (e as Error).message})`;
    }
    if (st.ino !== this.identity.ino || st.dev !== this.identity.dev) return `the lock file ${this.file} was replaced by another file`;
    if (!expected) return null;
    let found: DecodedLock;
    try {
      found = this.read();
    } catch (e) {
      return `the lock file ${this.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (found.kind !== 'record') return `the lock file ${this.file} no longer names this node (it is ${found.kind === 'empty' ? 'empty' : 'unreadable'})`;
    const r = found.record;
    if (r.epoch !== expected.epoch || r.nodeId !== expected.nodeId) return `the lock file ${this.file} now names ${r.nodeId} at epoch ${r.epoch} (this node holds epoch ${expected.epoch})`;
    return null;
  }

  /** Whether the path still names the file this description has open. */
  isCurrent(): boolean {
    return this.lostReason() === null;
  }

  read(): DecodedLock {
    const buf = Buffer.alloc(READ_LIMIT_BYTES);
    const n = fs.readSync(this.openFd(), buf, 0, buf.length, 0);
    return decodeLockRecord(buf.subarray(0, n));
  }

  /** Replaces the file's content with `record` and fsyncs it, so a waiter reads it after a crash too. */
  write(record: LockRecord): void {
    if (!this.held) throw new QmqError('INTERNAL', `writing ${this.file} without holding its lock`);
    const fd = this.openFd();
    const bytes = encodeLockRecord(record);
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.fsyncSync(fd);
    } catch (e) {
      throw lockIoError(`cannot write the lock file ${this.file}`, e);
    }
  }

  /** Releases the lock (closing the description); deferred while a wait is still in progress. */
  close(): void {
    this.closeRequested = true;
    if (this.waiting || this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.held = false;
    fs.closeSync(fd);
  }

  private openFd(): number {
    if (this.fd === null || this.closeRequested) throw new QmqError('INTERNAL', `the lock file ${this.file} is closed`);
    return this.fd;
  }
}

function lockIoError(what: string, e: unknown): QmqError {
  const code = (e as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ': permission denied; the broker needs write access to its store directory (shared-file master/slave writes its node id and epoch into the lock file)'
      : code === 'ENOLCK' || code === 'EOPNOTSUPP'
        ? ': this file system does not support fcntl locks (on NFS use v4, see the README on shared file systems)'
        : `: ${(e as Error).message}`;
  return new QmqError('STORE_IO', `${what}${hint}`, { cause: e });
}
