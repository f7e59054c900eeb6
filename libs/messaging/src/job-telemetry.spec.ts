import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from 'nats';
import { describeWithNats, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { ensureTelemetryStream, followJobTelemetry, type JobTelemetryKind, publishJobTelemetry } from './job-telemetry';
import { connectNats, type ManagedNatsConnection } from './nats.connection';

interface Item {
  seq: number;
  text: string;
}

const decode = (item: unknown): Item | null => {
  const candidate = item as Partial<Item> | null;
  return candidate && typeof candidate.seq === 'number' && typeof candidate.text === 'string' ? { seq: candidate.seq, text: candidate.text } : null;
};

/** The next `count` items, failing after a few seconds instead of hanging. */
async function take<T>(iterator: AsyncIterator<T>, count: number, timeoutMs = 5_000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    const next = await Promise.race([iterator.next(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(left, 0)))]);
    if (next === 'timeout') throw new Error(`got ${out.length} of ${count} items: ${JSON.stringify(out)}`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describeWithNats('job telemetry on JetStream', () => {
  let managed: ManagedNatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streamName = uniqueName('MT_TELEMETRY_TEST');
  const subjectPrefix = `${uniqueName('telemetrytest')}.mt.telemetry.job`;

  beforeAll(async () => {
    managed = await connectNats({ url: TEST_NATS_URL, name: 'job-telemetry-test', logger: new RecordingLogger() });
    js = managed.nc.jetstream();
    jsm = await managed.nc.jetstreamManager();
    await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 50 });
  });

  afterAll(async () => {
    await jsm.streams.delete(streamName).catch(() => undefined);
    await managed.close();
  });

  const publish = (jobId: string, kind: JobTelemetryKind, from: number, count: number) =>
    publishJobTelemetry(js, subjectPrefix, jobId, kind, Array.from({ length: count }, (_, i) => ({ seq: from + i, text: `${kind} ${from + i}` })));

  it('creates the stream with per-job limits, and leaves it alone when it already matches', async () => {
    const info = await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 50 });
    expect(info.config).toMatchObject({ subjects: [`${subjectPrefix}.>`], max_msgs_per_subject: 50 });
    const widened = await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 60 });
    expect(widened.config.max_msgs_per_subject).toBe(60);
    await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 50 });
  });

  it('orders by the stream, not by the publishers\' own numbering (agent and scheduler both publish)', async () => {
    const jobId = randomUUID();
    await publish(jobId, 'logs', 1, 2); // the agent's lines 1, 2
    await publish(jobId, 'status', 1, 1); // the scheduler's first status change
    await publish(jobId, 'logs', 3, 1);
    const follow = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId, replayLast: 3, decode });
    try {
      expect((await take(follow, 3)).map((i) => i.text)).toEqual(['logs 2', 'status 1', 'logs 3']);
    } finally {
      await follow.return!();
    }
  });

  it('gives a late subscriber the last N items of the job across kinds, in order, then live ones', async () => {
    const jobId = randomUUID();
    const other = randomUUID();
    await publish(jobId, 'status', 1, 1);
    await publish(jobId, 'logs', 2, 3);
    await publish(other, 'logs', 1, 5);
    await publish(jobId, 'metrics', 5, 4);

    const follow = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId, replayLast: 5, decode });
    try {
      const replayed = await take(follow, 5);
      expect(replayed.map((i) => [i.seq, i.subject])).toEqual([
        [4, 'logs'],
        [5, 'metrics'],
        [6, 'metrics'],
        [7, 'metrics'],
        [8, 'metrics'],
      ]);
      await publish(other, 'logs', 6, 1);
      await publish(jobId, 'status', 9, 1);
      // A live batch larger than the replay window arrives whole.
      await publish(jobId, 'logs', 10, 8);
      expect(await take(follow, 9)).toEqual([{ seq: 9, text: 'status 9', subject: 'status' }, ...Array.from({ length: 8 }, (_, i) => ({ seq: 10 + i, text: `logs ${10 + i}`, subject: 'logs' }))]);
    } finally {
      await follow.return!();
    }
  });

  it('without replay, delivers only what is published after the call; a malformed item or message is skipped', async () => {
    const jobId = randomUUID();
    await publish(jobId, 'logs', 1, 2);
    const follow = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId, replayLast: 0, decode });
    try {
      await js.publish(`${subjectPrefix}.${jobId}.logs`, new TextEncoder().encode('not json'));
      await publishJobTelemetry(js, subjectPrefix, jobId, 'logs', [{ seq: 3, wrong: true }, { seq: 4, text: 'fine' }] as unknown as Item[]);
      expect(await take(follow, 1)).toEqual([{ seq: 4, text: 'fine', subject: 'logs' }]);
    } finally {
      await follow.return!();
    }
  });

  it('replays what there is when the job has fewer items than asked for, and nothing for an unknown job', async () => {
    const jobId = randomUUID();
    await publish(jobId, 'logs', 1, 2);
    const follow = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId, replayLast: 100, decode });
    try {
      expect((await take(follow, 2)).map((i) => i.seq)).toEqual([1, 2]);
    } finally {
      await follow.return!();
    }
    const nothing = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId: randomUUID(), replayLast: 10, decode });
    await expect(take(nothing, 1, 500)).rejects.toThrow(/got 0 of 1 items/);
    await nothing.return!();
  });

  it('removes its consumer from the server when the subscriber stops', async () => {
    const consumers = async () => (await jsm.streams.info(streamName)).state.consumer_count;
    const before = await consumers();
    const follow = await followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId: randomUUID(), replayLast: 5, decode });
    expect(await consumers()).toBe(before + 1);
    await follow.return!();
    expect(await consumers()).toBe(before);
  });

  it('refuses a job id that is not a single subject token', async () => {
    await expect(followJobTelemetry(managed.nc, { streamName, subjectPrefix, jobId: 'a.b', replayLast: 0, decode })).rejects.toThrow(/cannot be a subject token/);
    expect(() => publish('x.>', 'logs', 1, 1)).toThrow(/cannot be a subject token/);
  });
});
