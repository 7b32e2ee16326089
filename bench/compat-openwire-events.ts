/**
 * What `npm run compat:openwire` compares: the events the Java probe prints (test/java/
 * OpenWireProbe.java), with what legitimately differs between two brokers masked. Message ids
 * become `id#1`, `id#2`… in order of first appearance, so "the consumer got the id the producer
 * was given" still compares; times become "set"; temporary destination names become `<temp>`.
 */
export type ProbeEvent = Record<string, unknown>;

/** A dead letter's `originalExpiration` is a time; whether it is 0 is what compares. */
function maskProperties(p: Record<string, unknown>): Record<string, unknown> {
  const out = { ...p };
  if (typeof out.originalExpiration === 'string' && out.originalExpiration !== '0') out.originalExpiration = 'set';
  if (typeof out.dlqDeliveryFailureCause === 'string') out.dlqDeliveryFailureCause = out.dlqDeliveryFailureCause.replace(/Expiration:\d+/, 'Expiration:<time>');
  return out;
}

export interface StepOutcome {
  args: string[];
  code: number | null;
  events: ProbeEvent[];
}

/** `unordered`: the probe prints from two threads (request/reply), so event order is not the broker's. */
export function normalizeSteps(steps: StepOutcome[], unordered = false): unknown[] {
  const ids = new Map<string, string>();
  const id = (v: unknown) => {
    if (typeof v !== 'string') return v;
    if (!ids.has(v)) ids.set(v, `id#${ids.size + 1}`);
    return ids.get(v);
  };
  const temp = (v: unknown) => (typeof v === 'string' ? v.replace(/(temp-(?:queue|topic):\/\/)ID:\S+/g, '$1<temp>') : v);
  return steps.map((s) => ({
    step: s.args.join(' '),
    code: s.code,
    events: s.events.map((e) => {
      const out: ProbeEvent = {};
      for (const k of Object.keys(e).sort()) {
        const v = e[k];
        if (k === 'cause' || k === 'elapsedMs') continue;
        else if (k === 'messageId') out[k] = id(v);
        else if (k === 'timestamp') out[k] = typeof v === 'number' && v > 0 ? 'set' : v;
        else if (k === 'expiration') out[k] = typeof v === 'number' && v > 0 ? 'set' : v;
        else if (k === 'destination' || k === 'message' || k === 'replyTo') out[k] = temp(v);
        else if (k === 'properties' && v !== null && typeof v === 'object') out[k] = maskProperties(v as Record<string, unknown>);
        else out[k] = v;
      }
      return out;
    }),
  })).map((s) => (unordered ? { ...s, events: s.events.map((e) => JSON.stringify(e)).sort().map((e) => JSON.parse(e) as ProbeEvent) } : s));
}

export interface OpenWireComparison {
  scenario: string;
  same: boolean;
  expected?: string;
  quorummq?: unknown[];
  activemq?: unknown[];
}

export function compareSteps(scenario: string, ours: StepOutcome[], theirs: StepOutcome[], opts: { expected?: string; unordered?: boolean } = {}): OpenWireComparison {
  const { expected, unordered } = opts;
  const a = normalizeSteps(ours, unordered);
  const b = normalizeSteps(theirs, unordered);
  if (JSON.stringify(a) === JSON.stringify(b)) return { scenario, same: true };
  return { scenario, same: false, expected, quorummq: a, activemq: b };
}
