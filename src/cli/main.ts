import { Command, InvalidArgumentError } from 'commander';
import { VERSION } from '../version.js';
import { runStart } from './start-command.js';
import { runProduce, runConsume, runBrowse } from './client-commands.js';
import { runStatus } from './status-command.js';
import { runPurge, runRetry } from './admin-commands.js';
import { runStoreCli } from './store-cli.js';

function intArg(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(v);
  };
}

function collectSet(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--set takes name=value, got "${v}"`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

export function buildProgram(): Command {
  const program = new Command('quorummq').version(VERSION).description('QuorumMQ: an ActiveMQ-compatible message broker for Node.js');
  program.showHelpAfterError();

  program
    .command('start')
    .description('run a broker (no config: a single durable node, STOMP on 127.0.0.1:61613, OpenWire on 61616, data in ./data)')
    .option('-c, --config <file>', 'ActiveMQ-style XML config (activemq.xml)')
    .option('-d, --data <dir>', 'data directory (ActiveMQ ${activemq.data})')
    .option('--set <name=value>', 'fill a ${name} placeholder (repeatable)', collectSet, {})
    .option('--http-port <n>', 'HTTP port for health, status and metrics (0 = off)', intArg('--http-port'))
    .option('--http-host <host>', 'address the HTTP port listens on (default 127.0.0.1)')
    .option('--stomp-port <n>', 'STOMP TCP port when no config is given (0 = any free port)', intArg('--stomp-port'))
    .option('--ws-port <n>', 'STOMP WebSocket port when no config is given (0 = any free port)', intArg('--ws-port'))
    .option('--openwire-port <n>', 'OpenWire (ActiveMQ JMS clients) port when no config is given (0 = any free port)', intArg('--openwire-port'))
    .option('--mqtt-port <n>', 'also serve MQTT 3.1.1 on this port when no config is given (ActiveMQ uses 1883; 0 = any free port)', intArg('--mqtt-port'))
    .option('--host <host>', 'address to listen on when no config is given', '127.0.0.1')
    .option('--ignore-unsupported-connectors', 'warn about (instead of failing on) connectors for protocols not built yet, e.g. amqp')
    .option('--log-format <fmt>', 'json or pretty (default: pretty on a terminal)')
    .action(runStart);

  const client = (cmd: Command) =>
    cmd
      .requiredOption('-u, --url <url>', 'broker URL: tcp://host:61613, ws://host:61614/, or failover:(tcp://a:61613,tcp://b:61613)?randomize=false', 'tcp://127.0.0.1:61613')
      .requiredOption('--destination <dest>', 'e.g. /queue/orders or /topic/prices')
      .option('-n, --count <n>', 'number of messages', intArg('--count'), 1)
      .option('--login <user>', 'CONNECT login (a broker with <simpleAuthenticationPlugin>)')
      .option('--passcode <password>', 'CONNECT passcode')
      .option('--json', 'print a JSON summary instead of a progress bar');

  client(program.command('produce').description('send messages'))
    .option('-s, --size <bytes>', 'body size in bytes', intArg('--size'), 100)
    .option('-m, --message <text>', 'body text (default: generated)')
    .option('--persistent', 'send with persistent:true (stored durably before the receipt)')
    .action(runProduce);

  client(program.command('consume').description('receive messages'))
    .option('--ack <mode>', 'auto, client or client-individual', 'client-individual')
    .option('--selector <sql>', 'JMS selector')
    .option('--timeout <ms>', 'stop after this long without a message', intArg('--timeout'), 5000)
    .option('--print', 'print each body on its own line')
    .option('--size <bytes>', 'ignored (accepted for symmetry with produce)')
    .option('--persistent', 'ignored (accepted for symmetry with produce)')
    .action(runConsume);

  program
    .command('browse')
    .description('list the messages on a queue without consuming them')
    .requiredOption('-u, --url <url>', 'broker URL', 'tcp://127.0.0.1:61613')
    .requiredOption('--destination <dest>', 'a queue, e.g. /queue/orders')
    .option('--login <user>', 'CONNECT login (a broker with <simpleAuthenticationPlugin>)')
    .option('--passcode <password>', 'CONNECT passcode')
    .option('--json', 'print JSON')
    .action(runBrowse);

  program
    .command('status')
    .description("show a node's role, store and destinations (from its HTTP port)")
    .option('--http <url>', 'the node HTTP address', 'http://127.0.0.1:8161')
    .option('--zk <address>', 'instead: read the replication groups from ZooKeeper (zkAddress, e.g. 127.0.0.1:2181)')
    .option('--path <zkPath>', 'the zkPath of the group (with --zk)', '/default')
    .option('--replicas <n>', 'the group size, if the nodes do not publish it (with --zk)', intArg('--replicas'))
    .option('--json', 'print JSON')
    .action(runStatus);

  const admin = (c: Command) =>
    c
      .option('--http <url>', 'the master\'s HTTP address', 'http://127.0.0.1:8161')
      .option('--user <name>', 'HTTP Basic user (a broker with <simpleAuthenticationPlugin>: one in the admins group)')
      .option('--password <password>', 'HTTP Basic password')
      .option('--json', 'print JSON');
  admin(program.command('purge <queue...>').description('remove every waiting message from queues (ActiveMQ: activemq purge)')).action(runPurge);
  admin(program.command('retry <queue...>').description('send the dead letters in queues (e.g. ActiveMQ.DLQ) back to where they came from')).action(runRetry);

  const store = program.command('store').description('offline store tools (the broker must be stopped)');
  store
    .command('verify <dir>')
    .description('check every record CRC and the index against the journal')
    .option('--repair', 'quarantine damaged bytes and keep every valid record')
    .option('--json', 'print JSON')
    .action((dir: string, opts: { repair?: boolean; json?: boolean }) => runStoreCli('verify', dir, opts));
  store
    .command('dump <dir>')
    .description('segments, destination depths, last (epoch, position), and records of a range; <dir> may also be a file or directory under quarantine/')
    .option('--from <pos>', 'first log position to print', intArg('--from'))
    .option('--to <pos>', 'last log position to print', intArg('--to'))
    .option('--json', 'print JSON')
    .action((dir: string, opts: { from?: number; to?: number; json?: boolean }) => runStoreCli('dump', dir, opts));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
