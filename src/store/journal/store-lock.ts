import fs from 'node:fs';
import path from 'node:path';
import { tryLock } from 'fs-native-extensions';
import { QmqError } from '../../util/errors.js';

/**
 * An exclusive OFD `fcntl` lock on `<directory>/lock`, held for the store's lifetime. The
 * kernel drops it when the process dies (even with kill -9), and two descriptors in one
 * process conflict too, so a second open in the same process fails as well.
 */
export class StoreLock {
  private constructor(
    private fd: number | null,
    readonly file: string,
  ) {}

  static acquire(directory: string): StoreLock {
    fs.mkdirSync(directory, { recursive: true });
    const file = path.join(directory, 'lock');
    const fd = fs.openSync(file, 'a+');
    let locked = false;
    try {
      locked = tryLock(fd);
    } catch (e) {
      fs.closeSync(fd);
      throw new QmqError('STORE_IO', `could not lock ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (!locked) {
      fs.closeSync(fd);
      throw new QmqError('STORE_LOCKED', `the store ${directory} is in use by another broker or tool (${file} is locked); stop it first`);
    }
    return new StoreLock(fd, file);
  }

  release(): void {
    if (this.fd === null) return;
    // Closing the descriptor releases the OFD lock.
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
