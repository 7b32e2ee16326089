import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as StompJsClient, type IMessage, type StompHeaders } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import { WebSocket } from 'ws';
import stompit from 'stompit';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Runs one of the Python client scripts in test/clients through Debian's /usr/bin/python3 and parses its last line as JSON. */
function runPythonClient(label: string, script: string, port: number, scenario: string, args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [path.join(HERE, '../clients', script), String(port), scenario, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${label} ${scenario} exited ${code}: ${err}${out}`));
      else {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop()!));
        } catch (e) {
          reject(new Error(`${label} ${scenario} printed no JSON: ${out} ${err}`));
        }
      }
    });
  });
}

/** Runs a stomp.py scenario (Debian's python3-stomp, through /usr/bin/python3). */
export function stompPy(port: number, scenario: string, ...args: string[]): Promise<any> {
  return runPythonClient('stomp.py', 'stomppy_client.py', port, scenario, args);
}

/** Runs a Paho MQTT scenario (Debian's python3-paho-mqtt, through /usr/bin/python3). */
export function pahoMqtt(port: number, scenario: string, ...args: string[]): Promise<any> {
  return runPythonClient('paho', 'paho_client.py', port, scenario, args);
}

/** Runs one of Debian's mosquitto-clients (`mosquitto_pub`, `mosquitto_sub`) to completion. */
export function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(`/usr/bin/${tool}`, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An activated @stomp/stompjs client over TCP (tcp-wrapper) or WebSocket (ws). */
export async function stompJs(target: { tcpPort?: number; wsUrl?: string }, connectHeaders: StompHeaders = {}): Promise<StompJsClient> {
  const client = new StompJsClient({
    webSocketFactory: () =>
      target.wsUrl ? new WebSocket(target.wsUrl, ['v12.stomp', 'v11.stomp', 'v10.stomp']) : new TCPWrapper('127.0.0.1', target.tcpPort!),
    connectHeaders,
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onStompError = (f) => reject(new Error(`stompjs STOMP error: ${f.headers.message}`));
    client.onWebSocketError = (e) => reject(new Error(`stompjs socket error: ${String(e?.message ?? e)}`));
    client.activate();
  });
  return client;
}

/** stompjs publish that waits for the broker's receipt. */
export function publishWithReceipt(client: StompJsClient, destination: string, body: string, headers: StompHeaders = {}): Promise<void> {
  const receipt = `r-${Math.random().toString(36).slice(2)}`;
  const p = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.publish({ destination, body, headers: { ...headers, receipt } });
  return p;
}

/** Collects messages from a stompjs subscription. */
export function collect(client: StompJsClient, destination: string, headers: StompHeaders = {}): { messages: IMessage[]; ready: Promise<void> } {
  const messages: IMessage[] = [];
  const receipt = `s-${Math.random().toString(36).slice(2)}`;
  const ready = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, (m) => messages.push(m), { ...headers, receipt });
  return { messages, ready };
}

/** A connected stompit client. */
export function stompitConnect(port: number, headers: Record<string, string> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    stompit.connect(
      { host: '127.0.0.1', port, connectHeaders: { host: '/', 'accept-version': '1.2', 'heart-beat': '0,0', ...headers } } as any,
      (err: Error | null, client: any) => (err ? reject(err) : resolve(client)),
    );
  });
}

/** stompit send that resolves on the broker's receipt. */
export function stompitSend(client: any, headers: Record<string, string>, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const frame = client.send(headers, { onReceipt: () => resolve() });
    frame.on('error', reject);
    frame.write(body);
    frame.end();
  });
}
