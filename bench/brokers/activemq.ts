/**
 * Runs ActiveMQ 5.17 from Debian's `activemq` package as a plain JVM process with a generated
 * activemq.xml (KahaDB, STOMP only, on a free loopback port). The Debian wrapper script is
 * avoided on purpose: it forces ACTIVEMQ_BASE=/var/lib/activemq and wants to su to its own
 * user (see /work/shared/research/environment.md §2.2).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canConnect, freePort, makeTempDir, onCleanup, sleep, terminate, waitForExit } from '../processes.js';
import type { BenchBroker } from './types.js';

const ACTIVEMQ_HOME = '/usr/share/activemq';
const ACTIVEMQ_JAR = path.join(ACTIVEMQ_HOME, 'bin/activemq.jar');
const START_TIMEOUT_MS = 90_000;

/** The broker config: STOMP and OpenWire connectors on loopback, KahaDB with its default disk syncs. */
/** `extra` goes inside <broker> (e.g. a <plugins> block for side-by-side security checks). */
export function activemqXml(stompPort: number, openwirePort: number, extra = ''): string {
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="bench" useJmx="false" persistent="true"
          dataDirectory="\${activemq.data}">
    <persistenceAdapter><kahaDB directory="\${activemq.data}/kahadb"/></persistenceAdapter>
    ${extra}
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${stompPort}"/>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:${openwirePort}"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n
`;

/** The JVM command line, the same flags Debian's wrapper would pass on Java 17. */
export function activemqJavaArgs(baseDir: string): string[] {
  const conf = path.join(baseDir, 'conf');
  const data = path.join(baseDir, 'data');
  return [
    '-Xms256M',
    '-Xmx512M',
    '--add-reads=java.xml=java.logging',
    '--add-opens', 'java.base/java.security=ALL-UNNAMED',
    '--add-opens', 'java.base/java.net=ALL-UNNAMED',
    '--add-opens', 'java.base/java.lang=ALL-UNNAMED',
    '--add-opens', 'java.base/java.util=ALL-UNNAMED',
    '--add-opens', 'java.naming/javax.naming.spi=ALL-UNNAMED',
    '--add-opens', 'java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED',
    '--add-opens', 'java.base/java.util.concurrent=ALL-UNNAMED',
    '--add-opens', 'java.base/java.util.concurrent.atomic=ALL-UNNAMED',
    '--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED',
    '--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED',
    '--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED',
    '--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED',
    '--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED',
    '-Djava.awt.headless=true',
    `-Djava.io.tmpdir=${path.join(baseDir, 'tmp')}`,
    `-Dlog4j.configuration=file:${path.join(conf, 'log4j.properties')}`,
    `-Dactivemq.classpath=${conf}`,
    `-Dactivemq.home=${ACTIVEMQ_HOME}`,
    `-Dactivemq.base=${baseDir}`,
    `-Dactivemq.conf=${conf}`,
    `-Dactivemq.data=${data}`,
    '-jar', ACTIVEMQ_JAR,
    'start', `xbean:file:${path.join(conf, 'activemq.xml')}`,
  ];
}

/** Installs the Debian package when it is missing and we are root; otherwise explains what to do. */
export function ensureActivemqInstalled(log: (msg: string) => void): void {
  if (existsSync(ACTIVEMQ_JAR)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`ActiveMQ is not installed (${ACTIVEMQ_JAR} is missing) and the bench is not root: run \`sudo apt-get install -y --no-install-recommends activemq\` first`);
  }
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'activemq'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
    });
  log('installing ActiveMQ: apt-get install -y --no-install-recommends activemq');
  let r = install();
  if (r.status !== 0) {
    // Usually stale package lists on a fresh machine.
    log('apt-get install failed; running apt-get update and retrying');
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    r = install();
  }
  if (r.status !== 0 || !existsSync(ACTIVEMQ_JAR)) {
    throw new Error(`could not install ActiveMQ (apt-get exit ${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  }
}

export async function startActivemq(log: (msg: string) => void, extraXml = ''): Promise<BenchBroker> {
  ensureActivemqInstalled(log);
  const { dir: baseDir, remove: removeBaseDir } = makeTempDir('qmq-bench-activemq-');
  for (const d of ['conf', 'data', 'tmp']) mkdirSync(path.join(baseDir, d), { recursive: true });
  const port = await freePort();
  const openwirePort = await freePort();
  writeFileSync(path.join(baseDir, 'conf/activemq.xml'), activemqXml(port, openwirePort, extraXml));
  writeFileSync(path.join(baseDir, 'conf/log4j.properties'), LOG4J_PROPERTIES);
  const logFile = path.join(baseDir, 'broker.log');

  let child: ChildProcess | undefined;
  let exited = false;
  const launch = () => {
    const fd = openSync(logFile, 'a');
    try {
      const c = spawn('java', activemqJavaArgs(baseDir), { cwd: baseDir, stdio: ['ignore', fd, fd] });
      exited = false;
      c.once('exit', () => {
        if (c === child) exited = true;
      });
      child = c;
    } finally {
      closeSync(fd);
    }
  };
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const stopCurrent = async () => {
    if (child?.pid !== undefined && !exited) await terminate(child.pid, 15_000);
  };
  const unregister = onCleanup('ActiveMQ broker', stopCurrent);

  launch();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await canConnect('127.0.0.1', port))) {
    if (exited) throw new Error(`ActiveMQ exited during startup:\n${logTail()}`);
    if (Date.now() > deadline) throw new Error(`ActiveMQ did not open port ${port} within ${START_TIMEOUT_MS} ms:\n${logTail()}`);
    await sleep(100);
  }

  return {
    label: 'activemq',
    host: '127.0.0.1',
    port,
    openwirePort,
    pid: () => child?.pid,
    async crashAndRelaunch() {
      const pid = child?.pid;
      if (pid !== undefined && !exited) {
        process.kill(pid, 'SIGKILL');
        await waitForExit(pid, 10_000);
      }
      launch();
    },
    assertRunning() {
      if (exited) throw new Error(`ActiveMQ exited:\n${logTail()}`);
    },
    async stop() {
      await unregister();
      await removeBaseDir();
    },
  };
}
