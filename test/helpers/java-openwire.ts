/**
 * Drives the real ActiveMQ 5.17 Java JMS client (OpenWire) from the tests, through
 * test/java/OpenWireProbe.java: compiled once per process into a temp dir against the jars of
 * Debian's `activemq` package, run as `java -cp <cp> OpenWireProbe <url> <command> …`, one JSON
 * event per stdout line. Missing Java or jars fail loudly, never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROBE_SOURCE = path.join(HERE, '../java/OpenWireProbe.java');

const JAVA = '/usr/bin/java';
const JAVAC = '/usr/bin/javac';
/** Debian's Java library packages (libactivemq-java and its dependencies; scripts/provision.mjs installs them). */
const JAVA_LIB = '/usr/share/java';

/**
 * The client's runtime classpath. geronimo-j2ee-management is needed even though nothing
 * manages anything: ActiveMQConnection's stats classes implement javax.management.j2ee.statistics.
 * slf4j-simple logs to stderr (the failover transport's "Successfully connected to …" lines end up
 * in the result's `stderr`), keeping stdout for the events.
 */
export const PROBE_JARS = [
  path.join(JAVA_LIB, 'activemq-client.jar'),
  path.join(JAVA_LIB, 'geronimo-jms_1.1_spec.jar'),
  path.join(JAVA_LIB, 'geronimo-j2ee-management-1.1-spec.jar'),
  path.join(JAVA_LIB, 'hawtbuf.jar'),
  path.join(JAVA_LIB, 'slf4j-api.jar'),
  path.join(JAVA_LIB, 'slf4j-simple.jar'),
];

const INSTALL_HINT = 'install them with `apt-get install -y --no-install-recommends openjdk-17-jdk-headless libactivemq-java libslf4j-java`';

/** Whether javac, java and the client jars are all there (and if not, what is missing). */
export function javaOpenWireAvailable(): { ok: true } | { ok: false; why: string } {
  const missing = [JAVAC, JAVA, PROBE_SOURCE, ...PROBE_JARS].filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return { ok: true };
  return { ok: false, why: `missing for the Java OpenWire probe: ${missing.join(', ')} (${INSTALL_HINT})` };
}

/** One event line of the probe; `event` is always there ("unparsed" for a line that is not JSON). */
export type ProbeEvent = Record<string, unknown> & { event?: unknown };

export interface ProbeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether runProbe killed the probe (SIGKILL, by PID) because it ran past timeoutMs. */
  timedOut: boolean;
  events: ProbeEvent[];
  stderr: string;
}

export interface ProbeOptions {
  /** runProbe: SIGKILL the probe after this long (default 60 000 ms). */
  timeoutMs?: number;
  /** Added to (and overriding) process.env for the probe. */
  env?: NodeJS.ProcessEnv;
  /** Extra JVM arguments, before -cp (e.g. '-Dorg.slf4j.simpleLogger.defaultLogLevel=debug'). */
  jvmArgs?: string[];
}

let compiled: Promise<string> | undefined;
const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(dir: string): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    // Only the probes this process started, by PID.
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

function runToEnd(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

/**
 * Compiles OpenWireProbe.java once per process into a fresh temp dir and returns the classpath
 * (that dir, then the jars). Throws, naming what is missing, when javac or a jar is absent.
 */
export function compileProbe(): Promise<string> {
  compiled ??= (async () => {
    const available = javaOpenWireAvailable();
    if (!available.ok) throw new Error(available.why);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-openwire-probe-'));
    installExitHook(dir);
    const jarsCp = PROBE_JARS.join(path.delimiter);
    const r = await runToEnd(JAVAC, ['--release', '17', '-Xlint:all', '-Werror', '-encoding', 'UTF-8', '-d', dir, '-cp', jarsCp, PROBE_SOURCE]);
    if (r.code !== 0) throw new Error(`javac ${PROBE_SOURCE} failed (exit ${r.code}):\n${r.out}`);
    if (!fs.existsSync(path.join(dir, 'OpenWireProbe.class'))) throw new Error(`javac wrote no OpenWireProbe.class into ${dir}:\n${r.out}`);
    return [dir, jarsCp].join(path.delimiter);
  })();
  // A failed compile fails every caller in this process the same way (loudly), and is not retried.
  return compiled;
}

async function spawnProbe(url: string, args: string[], opts: ProbeOptions): Promise<ChildProcess> {
  const cp = await compileProbe();
  const child = spawn(
    JAVA,
    [
      '-Dorg.slf4j.simpleLogger.logFile=System.err',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      // A short-lived client: start fast rather than optimise.
      '-XX:TieredStopAtLevel=1',
      ...(opts.jvmArgs ?? []),
      '-cp',
      cp,
      'OpenWireProbe',
      url,
      ...args,
    ],
    // The JVM decodes its arguments (a --prefix, a --property) with the locale's charset.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8', ...opts.env } },
  );
  if (child.pid === undefined) {
    // spawn reports ENOENT and the like asynchronously; surface it here.
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      setImmediate(resolve);
    });
    throw new Error(`could not start ${JAVA}`);
  }
  const pid = child.pid;
  live.add(pid);
  child.once('exit', () => live.delete(pid));
  return child;
}

/** Splits a stream into lines and parses each as a JSON event. */
function collectEvents(child: ChildProcess, events: ProbeEvent[], stderr: { text: string }): void {
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (line) events.push(parseLine(line));
    }
  });
  child.stdout!.on('end', () => {
    if (partial.trim()) events.push(parseLine(partial.trim()));
    partial = '';
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr.text += chunk));
}

function parseLine(line: string): ProbeEvent {
  try {
    const v = JSON.parse(line) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as ProbeEvent;
  } catch {
    // fall through
  }
  return { event: 'unparsed', line };
}

/**
 * Runs the probe to its end: `java -cp <cp> OpenWireProbe <url> ...args`. Exit code 0 success,
 * 2 error (an "error" event), 3 a receive timed out (a "timeout" event). Past `timeoutMs` the
 * probe is SIGKILLed by PID and `timedOut` is true (code null, signal SIGKILL).
 */
export async function runProbe(url: string, args: string[], opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = await spawnProbe(url, args, opts);
  const events: ProbeEvent[] = [];
  const stderr = { text: '' };
  collectEvents(child, events, stderr);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }, timeoutMs);
  // 'close' (not 'exit') so that stdout has been read to its end.
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  return { code, signal, timedOut, events, stderr: stderr.text };
}

export interface ProbeHandle {
  child: ChildProcess;
  pid: number;
  /** Events so far, appended as they arrive. */
  events: ProbeEvent[];
  stderr(): string;
  /** Resolves when the probe has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the probe is still running. */
  running(): boolean;
  /**
   * Polls (every 20 ms, up to timeoutMs) for the first event matching `predicate` and returns it;
   * throws with the events and stderr so far when the deadline passes or the probe exits first.
   */
  waitFor(predicate: (e: ProbeEvent) => boolean, timeoutMs?: number, what?: string): Promise<ProbeEvent>;
  /** Polls until at least `n` events match `predicate`; returns them. */
  waitForCount(predicate: (e: ProbeEvent) => boolean, n: number, timeoutMs?: number, what?: string): Promise<ProbeEvent[]>;
  /** SIGKILLs the probe by PID (if still running) and waits for it to exit. */
  kill(): Promise<void>;
}

/**
 * Starts a long-running probe (e.g. a consumer that has to live through a failover) and returns
 * at once; the caller waits on its events with waitFor and must end it (exited, or kill()).
 */
export async function startProbe(url: string, args: string[], opts: ProbeOptions = {}): Promise<ProbeHandle> {
  const child = await spawnProbe(url, args, opts);
  const pid = child.pid!;
  const events: ProbeEvent[] = [];
  const stderr = { text: '' };
  collectEvents(child, events, stderr);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((r) => (exitedWith = r));

  const describe = () =>
    `events so far:\n${events.map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${stderr.text.slice(-4000)}`;

  const waitForCount = async (predicate: (e: ProbeEvent) => boolean, n: number, timeoutMs = 30_000, what = 'matching events') => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matched = events.filter(predicate);
      if (matched.length >= n) return matched.slice(0, n);
      if (exitedWith) {
        throw new Error(`OpenWireProbe (pid ${pid}) exited (code ${exitedWith.code}, signal ${exitedWith.signal}) with ${matched.length}/${n} ${what}; ${describe()}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} ${what} from OpenWireProbe (pid ${pid}), got ${matched.length}; ${describe()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    child,
    pid,
    events,
    stderr: () => stderr.text,
    exited,
    running: () => !done,
    waitForCount,
    async waitFor(predicate, timeoutMs = 30_000, what = 'a matching event') {
      const [e] = await waitForCount(predicate, 1, timeoutMs, what);
      return e;
    },
    async kill() {
      if (done) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      await exited;
    },
  };
}
