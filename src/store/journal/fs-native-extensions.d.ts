// fs-native-extensions 1.5 ships no typings; only the calls the journal uses are declared.
declare module 'fs-native-extensions' {
  /** Takes an OFD `fcntl` lock without waiting; false when another description holds it. */
  export function tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean;
  export function waitForLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): Promise<void>;
  export function unlock(fd: number, offset?: number, length?: number): void;
}
