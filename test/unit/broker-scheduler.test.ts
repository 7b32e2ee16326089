import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextDelivery, planSchedule, withoutScheduling } from '../../src/broker/schedule-plan.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { QmqError } from '../../src/util/errors.js';
import { Collector, connectTo, openKit, queue, sendReq, settle, subReq, until } from './broker-test-kit.js';

test('planSchedule: ActiveMQ\'s delay, period and repeat arithmetic', () => {
  const now = 1_000_000;
  const rows: Array<[string, Record<string, string>, ReturnType<typeof planSchedule>]> = [
    ['no scheduling properties', {}, null],
    ['all zero: delivered at once', { AMQ_SCHEDULED_DELAY: '0' }, null],
    ['a delay', { AMQ_SCHEDULED_DELAY: '5000' }, { firstAt: now + 5000, periodMs: 0, repeat: 0 }],
    ['a period alone also delays the first delivery', { AMQ_SCHEDULED_PERIOD: '200' }, { firstAt: now + 200, periodMs: 200, repeat: 0 }],
    ['delay, then repeats every period', { AMQ_SCHEDULED_DELAY: '100', AMQ_SCHEDULED_PERIOD: '50', AMQ_SCHEDULED_REPEAT: '3' }, { firstAt: now + 100, periodMs: 50, repeat: 3 }],
    ['repeats without a period come at once, one after the other', { AMQ_SCHEDULED_REPEAT: '2' }, { firstAt: now, periodMs: 0, repeat: 2 }],
  ];
  for (const [what, headers, expected] of rows) assert.deepEqual(planSchedule(headers, now), expected, what);
});

test('planSchedule refuses what it cannot honour, by name', () => {
  const refused = (headers: Record<string, string>, pattern: RegExp) =>
    assert.throws(() => planSchedule(headers, 0), (e) => e instanceof QmqError && e.codeName === 'HEADER_INVALID' && pattern.test(e.message));
  refused({ AMQ_SCHEDULED_DELAY: 'soon' }, /AMQ_SCHEDULED_DELAY must be a whole number/);
  refused({ AMQ_SCHEDULED_DELAY: '-5' }, /AMQ_SCHEDULED_DELAY/);
  refused({ AMQ_SCHEDULED_REPEAT: '-1' }, /repeat for ever\) is not supported/);
  refused({ AMQ_SCHEDULED_REPEAT: '1001' }, /from 0 to 1000/);
  refused({ AMQ_SCHEDULED_CRON: '* * * * *' }, /AMQ_SCHEDULED_CRON is not supported/);
});

test('nextDelivery and withoutScheduling', () => {
  assert.deepEqual(nextDelivery(100, 50, 2), { at: 150, left: 1 });
  assert.equal(nextDelivery(100, 50, 0), null);
  assert.deepEqual(withoutScheduling({ AMQ_SCHEDULED_DELAY: '1', AMQ_SCHEDULED_PERIOD: '2', AMQ_SCHEDULED_REPEAT: '3', 'qmq-scheduled-at': '4', keep: 'me' }), { keep: 'me' });
});

test('a delayed message is delivered when due, not before; a repeated one as often as asked, each with its own id', async () => {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryStore();
  const { core } = await openKit({ schedulerSupport: true }, store, clock);
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('later'), { ackMode: 'auto' }), s);
  await c.send(sendReq(queue('later'), 'in 5 s', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '5000', kind: 'delayed' } }));
  await c.send(sendReq(queue('later'), 'tick', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '1000', AMQ_SCHEDULED_PERIOD: '1000', AMQ_SCHEDULED_REPEAT: '2' } }));
  await settle();
  assert.equal(core.stats().scheduledMessages, 2);
  assert.equal(s.deliveries.length, 0);

  clock.advance(999);
  await settle();
  assert.equal(s.deliveries.length, 0, 'not before its time');
  for (let t = 0; t < 5; t++) {
    clock.advance(1000);
    await settle(10);
  }
  await until(() => s.deliveries.length === 4, 'three ticks and the delayed one');
  assert.deepEqual(s.bodies(), ['tick', 'tick', 'tick', 'in 5 s']);
  const ticks = s.deliveries.filter((d) => d.message.body.toString() === 'tick');
  assert.equal(new Set(ticks.map((d) => d.message.id)).size, 3, 'each repeat has an id of its own');
  const delayed = s.last.message;
  assert.equal(delayed.headers.kind, 'delayed');
  assert.equal(delayed.headers.AMQ_SCHEDULED_DELAY, undefined, 'not scheduled again');
  assert.equal(delayed.headers.scheduledJobId !== undefined, true);
  assert.equal(core.stats().scheduledMessages, 0);
  assert.deepEqual(await store.read('sched://', 0, 10), [], 'nothing left in the schedule');
  await core.close();
});

test('the schedule survives a restart, and a transacted scheduled send waits for the commit', async () => {
  const clock = new ManualClock(5_000_000);
  const store = new MemoryStore();
  const first = await openKit({ schedulerSupport: true }, store, clock);
  const c = connectTo(first.core);
  await c.send(sendReq(queue('q'), 'one', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '60000' } }));
  c.begin('tx');
  await c.send(sendReq(queue('q'), 'two', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '60000' } }), 'tx');
  assert.equal(first.core.stats().scheduledMessages, 1, 'the transacted one is not scheduled before the commit');
  await c.commit('tx');
  assert.equal(first.core.stats().scheduledMessages, 2);
  await first.core.close();

  const second = await openKit({ schedulerSupport: true }, store, clock);
  assert.equal(second.core.stats().scheduledMessages, 2);
  const s = new Collector();
  connectTo(second.core).subscribe(subReq('s', queue('q'), { ackMode: 'auto' }), s);
  clock.advance(60_000);
  await until(() => s.deliveries.length === 2, 'both after the restart');
  assert.deepEqual(s.bodies().sort(), ['one', 'two']);
  await second.core.close();
});

test('without schedulerSupport the properties are ignored, as in ActiveMQ: delivered at once', async () => {
  const { core } = await openKit();
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('now'), { ackMode: 'auto' }), s);
  await c.send(sendReq(queue('now'), 'x', { headers: { AMQ_SCHEDULED_DELAY: '60000' } }));
  await until(() => s.deliveries.length === 1, 'the delivery');
  assert.equal(s.last.message.headers.AMQ_SCHEDULED_DELAY, '60000');
  await core.close();
});

test('ActiveMQ\'s scheduler management destination is refused by name, not filled', async () => {
  const { core } = await openKit({ schedulerSupport: true });
  await assert.rejects(
    connectTo(core).send(sendReq(queue('ActiveMQ.Scheduler.Management'), 'browse')),
    (e) => e instanceof QmqError && e.codeName === 'INVALID_DESTINATION' && /not supported/.test(e.message),
  );
  await core.close();
});

test('scheduled messages are listed soonest first and can be cancelled, repeats and all', async () => {
  const clock = new ManualClock(2_000_000);
  const store = new MemoryStore();
  const { core } = await openKit({ schedulerSupport: true }, store, clock);
  const c = connectTo(core);
  const s = new Collector();
  c.subscribe(subReq('s', queue('jobs'), { ackMode: 'auto' }), s);
  await c.send(sendReq(queue('jobs'), 'later', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '9000' } }));
  await c.send(sendReq(queue('jobs'), 'soon', { persistent: true, headers: { AMQ_SCHEDULED_DELAY: '1000', AMQ_SCHEDULED_PERIOD: '1000', AMQ_SCHEDULED_REPEAT: '5', kind: 'tick' } }));
  await settle();
  const jobs = await core.scheduledMessages(10);
  assert.deepEqual(jobs.map((j) => [j.message.body.toString(), j.nextAt - 2_000_000, j.periodMs, j.repeatsLeft]), [['soon', 1000, 1000, 5], ['later', 9000, 0, 0]]);
  assert.equal(jobs[0].message.headers.AMQ_SCHEDULED_REPEAT, undefined, 'shown without its scheduling headers');
  assert.equal(jobs[0].message.headers.kind, 'tick');

  clock.advance(1000);
  await until(() => s.deliveries.length === 1, 'the first tick');
  // Cancelling by the job id stops the rest of the repeats.
  await core.removeScheduled(jobs[0].jobId);
  await assert.rejects(core.removeScheduled(jobs[0].jobId), (e) => e instanceof QmqError && e.codeName === 'UNKNOWN_MESSAGE');
  clock.advance(10_000);
  await until(() => s.deliveries.length === 2, 'the later one');
  await settle(10);
  assert.deepEqual(s.bodies(), ['soon', 'later']);
  assert.deepEqual(await core.scheduledMessages(10), []);
  await core.close();
});
