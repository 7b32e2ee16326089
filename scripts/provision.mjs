// Installs and checks what the test suite needs. Each need is declared once here; a missing
// need is installed when we can (root + apt), and otherwise is a loud failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function sh(cmd) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
}

function aptInstall(pkgs) {
  if (process.getuid?.() !== 0) {
    throw new Error(`npm test needs the Debian packages ${pkgs.join(', ')}; install them: sudo apt-get install -y ${pkgs.join(' ')}`);
  }
  console.error(`provision: apt-get install ${pkgs.join(' ')}`);
  let r = sh(`apt-get install -y -q --no-install-recommends ${pkgs.join(' ')}`);
  if (r.status !== 0) {
    sh('apt-get update -q');
    r = sh(`apt-get install -y -q --no-install-recommends ${pkgs.join(' ')}`);
  }
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr}`);
}

const needs = [
  {
    name: 'python3-stomp',
    check: () => sh("/usr/bin/python3 -c 'import stomp'").status === 0,
    packages: ['python3-stomp'],
  },
  {
    name: 'the MQTT clients',
    // MQTT tests drive Debian's mosquitto_pub/mosquitto_sub and the Eclipse Paho Python client.
    check: () => existsSync('/usr/bin/mosquitto_pub') && existsSync('/usr/bin/mosquitto_sub') && sh("/usr/bin/python3 -c 'import paho.mqtt.client'").status === 0,
    packages: ['mosquitto-clients', 'python3-paho-mqtt'],
  },
  {
    name: 'postgresql',
    // The server binaries for a throwaway cluster per run (initdb, pg_ctl), run as user postgres.
    check: () =>
      existsSync(`${process.env.QMQ_PG_BIN ?? '/usr/lib/postgresql/15/bin'}/initdb`) &&
      sh('id postgres').status === 0 &&
      sh('command -v runuser').status === 0,
    packages: ['postgresql'],
  },
  {
    name: 'zookeeper',
    // The server, the logging jars it needs to say anything, and a JVM to run it.
    check: () =>
      ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'].every(existsSync) &&
      sh('command -v java').status === 0,
    packages: ['zookeeper'],
  },
  {
    name: 'openssl',
    // The TLS connector tests make a throwaway self-signed certificate.
    check: () => sh('command -v openssl').status === 0,
    packages: ['openssl'],
  },
  {
    name: 'the ActiveMQ Java client',
    // OpenWire tests drive ActiveMQ 5.17's own JMS client; a JDK compiles the probe program.
    check: () =>
      ['activemq-client.jar', 'geronimo-jms_1.1_spec.jar', 'geronimo-j2ee-management-1.1-spec.jar', 'hawtbuf.jar', 'slf4j-api.jar', 'slf4j-simple.jar']
        .every((j) => existsSync(`/usr/share/java/${j}`)) && existsSync('/usr/bin/javac'),
    packages: ['openjdk-17-jdk-headless', 'libactivemq-java', 'libgeronimo-jms-1.1-spec-java', 'libgeronimo-j2ee-management-1.1-spec-java', 'libhawtbuf-java', 'libslf4j-java'],
  },
];

/** Makes sure every need is met; returns environment variables for the test processes. */
export async function provision() {
  const missing = needs.filter((n) => !n.check());
  if (missing.length > 0) aptInstall(missing.flatMap((n) => n.packages));
  for (const n of needs) {
    if (!n.check()) throw new Error(`provision: ${n.name} is still missing after installing it`);
  }
  return {};
}
