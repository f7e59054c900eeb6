import { ConflictError, defineRpc, NotFoundError, UnavailableError, ValidationError, z, type MessageHeaders } from '@modeltrail/contracts';
import { TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { connectBus, type ManagedBus } from './bus';
import { closeInProcessBus } from './in-process-bus';
import { ensureTelemetryStream, followJobTelemetry, publishJobTelemetry } from './job-telemetry';
import { toNatsHeaders } from './headers';
import { RpcClient } from './rpc.client';
import { serveRpc, type RpcServer } from './rpc.server';

/**
 * The messaging port's contract, run on both of its adapters: the in-process bus of the
 * one-process composition and a real NATS server. What the platform relies on must behave the
 * same on both: the typed replies and errors of request/reply (with the same messages for "no
 * responders" and timeouts), queue groups, wildcards, ordering, drain, and the telemetry stream's
 * replay-then-follow.
 */

const SIGNING_KEY = Buffer.alloc(32, 7);
const who: MessageHeaders = { actor: 'user:ada', correlationId: 'corr-1', causationId: 'cause-1', commandId: 'cmd-1' };
const natsUp = process.env.MODELTRAIL_TEST_NATS !== 'down';

interface Adapter {
  name: string;
  connect(client: string): Promise<ManagedBus>;
  dispose(): Promise<void>;
}

const inProcessUrl = `in-process://${uniqueName('contract')}`;
const adapters: Array<[string, Adapter]> = [
  ['in-process bus', { name: 'in-process', connect: (client) => connectBus({ url: inProcessUrl, name: client }), dispose: () => closeInProcessBus(inProcessUrl) }],
  [
    natsUp ? 'NATS' : `NATS (skipped: needs a NATS server at ${TEST_NATS_URL}, none answered)`,
    { name: 'nats', connect: (client) => connectBus({ url: TEST_NATS_URL, name: client, logger: new RecordingLogger() }), dispose: async () => undefined },
  ],
];

describe.each(adapters)('the messaging port on the %s', (label, adapter) => {
  if (!natsUp && adapter.name === 'nats') {
    it.skip(label, () => undefined);
    return;
  }
  const base = uniqueName('mt.cmd.bustest');
  const Create = defineRpc(`${base}.Create`, z.object({ name: z.string().min(1) }), z.object({ id: z.string(), actor: z.string() }));
  const Slow = defineRpc(`${base}.Slow`, z.object({}), z.object({ done: z.boolean() }));
  const Nobody = defineRpc(`${base}.Nobody`, z.object({}), z.object({}));
  const Shared = defineRpc(`${base}.Shared`, z.object({ i: z.number() }), z.object({ server: z.string() }));

  let server: ManagedBus;
  let client: ManagedBus;
  let rpc: RpcClient;
  const responders: RpcServer[] = [];
  let releaseSlow: () => void = () => undefined;

  beforeAll(async () => {
    server = await adapter.connect('contract-server');
    client = await adapter.connect('contract-client');
    rpc = new RpcClient(client.nc, { timeoutMs: 2_000, signingKey: SIGNING_KEY });
    const options = { logger: new RecordingLogger(), actors: { signingKey: SIGNING_KEY } };
    responders.push(
      serveRpc(
        server.nc,
        Create,
        async (request, headers) => {
          if (request.name === 'missing') throw new NotFoundError('thing "missing" does not exist', { thingId: 'missing' });
          if (request.name === 'taken') throw new ConflictError('thing "taken" already exists');
          return { id: `thing-${request.name}`, actor: headers.actor };
        },
        { ...options, queue: 'things' },
      ),
      serveRpc(server.nc, Slow, () => new Promise<{ done: boolean }>((resolve) => (releaseSlow = () => resolve({ done: true }))), options),
      serveRpc(server.nc, Shared, () => ({ server: 'a' }), { ...options, queue: 'shared' }),
      serveRpc(server.nc, Shared, () => ({ server: 'b' }), { ...options, queue: 'shared' }),
    );
    await server.nc.flush();
  });

  afterAll(async () => {
    releaseSlow();
    await Promise.all(responders.map((responder) => responder.stop()));
    await client?.close();
    await server?.close();
    await adapter.dispose();
  });

  it('answers a signed request with the typed reply, the headers reaching the handler', async () => {
    expect(await rpc.request(Create, { name: 'lamp' }, { headers: who })).toEqual({ id: 'thing-lamp', actor: 'user:ada' });
  });

  it('brings the responder’s typed errors back as the same classes', async () => {
    await expect(rpc.request(Create, { name: 'missing' }, { headers: who })).rejects.toThrow(NotFoundError);
    await expect(rpc.request(Create, { name: 'taken' }, { headers: who })).rejects.toThrow(ConflictError);
    const invalid = await rpc.request(Create, { name: '' }, { headers: who }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ValidationError);
  });

  it('refuses an unsigned request before the handler runs', async () => {
    const unsigned = new RpcClient(client.nc, { timeoutMs: 2_000, credential: 'not-a-key' });
    const error = await unsigned.request(Create, { name: 'lamp' }, { headers: who }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('says "no responders" at once when nobody serves the subject', async () => {
    const started = Date.now();
    const error = await rpc.request(Nobody, {}, { headers: who }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(`no service answers ${Nobody.subject} (no responders)`);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('times out with the same error naming the subject and the limit', async () => {
    const error = await rpc.request(Slow, {}, { headers: who, timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(`request to ${Slow.subject} timed out after 150 ms`);
  });

  it('a plain request without a reply in time fails with TIMEOUT, and one nobody serves with 503', async () => {
    const silent = uniqueName('bus.silent');
    const subscription = server.nc.subscribe(silent, { callback: () => undefined });
    await server.nc.flush();
    const timedOut = await client.nc.request(silent, new Uint8Array(0), { timeout: 100 }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: 'TIMEOUT' });
    const nobody = await client.nc.request(uniqueName('bus.nobody'), new Uint8Array(0), { timeout: 1_000 }).catch((e: unknown) => e);
    expect(nobody).toMatchObject({ code: '503' });
    subscription.unsubscribe();
  });

  it('refuses a request larger than one message may carry, before sending it', async () => {
    const error = await rpc.request(Create, { name: 'x'.repeat(2 * 1024 * 1024) }, { headers: who }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/max_payload/);
  });

  it('hands each request to one member of a queue group', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => rpc.request(Shared, { i }, { headers: who })));
    expect(replies).toHaveLength(40);
    const servers = new Set(replies.map((reply) => reply.server));
    expect([...servers].every((name) => name === 'a' || name === 'b')).toBe(true);
  });

  it('delivers to wildcard and plain subscribers in publish order, never inside publish()', async () => {
    const prefix = uniqueName('bus.order');
    const seen: string[] = [];
    const star = server.nc.subscribe(`${prefix}.*.status`, { callback: (_, msg) => seen.push(`star:${msg.subject}:${msg.string()}`) });
    const tail = server.nc.subscribe(`${prefix}.>`, { callback: (_, msg) => seen.push(`tail:${msg.string()}`) });
    await server.nc.flush();
    for (let i = 0; i < 5; i++) client.nc.publish(`${prefix}.job${i}.status`, new TextEncoder().encode(String(i)));
    client.nc.publish(`${prefix}.other`, new TextEncoder().encode('x'));
    expect(seen).toEqual([]);
    await client.nc.flush();
    await server.nc.flush();
    await waitFor(() => seen.length === 11);
    expect(seen.filter((s) => s.startsWith('star')).map((s) => s.split(':')[2])).toEqual(['0', '1', '2', '3', '4']);
    expect(seen.filter((s) => s.startsWith('tail')).map((s) => s.split(':')[1])).toEqual(['0', '1', '2', '3', '4', 'x']);
    star.unsubscribe();
    tail.unsubscribe();
  });

  it('flushes while subscribers keep the bus busy (a flush waits only for what was published before it)', async () => {
    const subject = uniqueName('bus.busy');
    let echoes = 0;
    let running = true;
    // Each message makes the next one at once: the bus never runs out of work while this lasts.
    const loop = server.nc.subscribe(subject, {
      callback: () => {
        echoes++;
        if (running) server.nc.publish(subject);
      },
    });
    await server.nc.flush();
    client.nc.publish(subject);
    await waitFor(() => echoes > 20);
    await client.nc.flush();
    await server.nc.flush();
    running = false;
    loop.unsubscribe();
  });

  it('carries headers and serves iterator subscriptions until unsubscribed', async () => {
    const subject = uniqueName('bus.iter');
    const subscription = server.nc.subscribe(subject);
    await server.nc.flush();
    client.nc.publish(subject, new TextEncoder().encode('one'), { headers: toNatsHeaders(who) });
    const iterator = subscription[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value.string()).toBe('one');
    expect(first.value.headers?.get('Mt-Actor')).toBe('user:ada');
    subscription.unsubscribe();
    expect((await iterator.next()).done).toBe(true);
  });

  it('drains: what was published before arrives, then the connection is closed and requests fail as unavailable', async () => {
    const subject = uniqueName('bus.drain');
    const drained = await adapter.connect('contract-drained');
    const received: string[] = [];
    drained.nc.subscribe(subject, { callback: (_, msg) => received.push(msg.string()) });
    await drained.nc.flush();
    for (let i = 0; i < 20; i++) client.nc.publish(subject, new TextEncoder().encode(String(i)));
    await client.nc.flush();
    await drained.close();
    expect(drained.nc.isClosed()).toBe(true);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    const closedClient = new RpcClient(drained.nc, { signingKey: SIGNING_KEY });
    const error = await closedClient.request(Create, { name: 'lamp' }, { headers: who }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/closed/);
  });

  describe('the telemetry stream', () => {
    const streamName = uniqueName('MT_TELEMETRY_BUS');
    const subjectPrefix = `${uniqueName('bustelemetry')}.mt.telemetry.job`;
    const decode = (item: unknown) => item as { seq: number; text: string };

    afterAll(async () => {
      await (await client.nc.jetstreamManager()).streams.delete(streamName).catch(() => undefined);
    });

    it('creates the stream, replays the last items of a job, then follows live ones, in stream order', async () => {
      const jsm = await client.nc.jetstreamManager();
      const info = await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 5 });
      expect(info.config).toMatchObject({ subjects: [`${subjectPrefix}.>`], max_msgs_per_subject: 5 });
      expect((await ensureTelemetryStream(jsm, { streamName, subjectPrefix, maxMessagesPerSubject: 5 })).config.max_msgs_per_subject).toBe(5);
      const js = client.nc.jetstream();
      // Eight messages on one subject: the stream keeps the last five.
      for (let i = 1; i <= 8; i++) await publishJobTelemetry(js, subjectPrefix, 'job1', 'logs', [{ seq: i, text: `line ${i}` }]);
      await publishJobTelemetry(js, subjectPrefix, 'job2', 'logs', [{ seq: 1, text: 'other job' }]);
      expect((await jsm.streams.info(streamName)).state.messages).toBe(6);

      const consumersBefore = (await jsm.streams.info(streamName)).state.consumer_count;
      const follower = await followJobTelemetry(server.nc, { streamName, subjectPrefix, jobId: 'job1', replayLast: 3, decode });
      expect((await jsm.streams.info(streamName)).state.consumer_count).toBe(consumersBefore + 1);
      const first = await nextItems(follower, 3);
      expect(first.map((item) => item.text)).toEqual(['line 6', 'line 7', 'line 8']);
      expect(first[0].subject).toBe('logs');
      await publishJobTelemetry(js, subjectPrefix, 'job1', 'metrics', [
        { seq: 9, text: 'metric 9' },
        { seq: 10, text: 'metric 10' },
      ]);
      expect((await nextItems(follower, 2)).map((item) => `${item.subject}:${item.text}`)).toEqual(['metrics:metric 9', 'metrics:metric 10']);
      await follower.return!();
      // Its consumer is gone with it.
      expect((await jsm.streams.info(streamName)).state.consumer_count).toBe(consumersBefore);
    });

    it('stores a re-published message once within the duplicate window, while core subscribers see every publish', async () => {
      const js = client.nc.jetstream();
      const live: string[] = [];
      const subscription = server.nc.subscribe(`${subjectPrefix}.*.status`, { callback: (_, msg) => live.push(msg.string()) });
      await server.nc.flush();
      const subject = `${subjectPrefix}.job3.status`;
      const first = await js.publish(subject, new TextEncoder().encode('s1'), { msgID: 'same-id' });
      const again = await js.publish(subject, new TextEncoder().encode('s1'), { msgID: 'same-id' });
      expect(again).toMatchObject({ duplicate: true, seq: first.seq });
      await waitFor(() => live.length >= 2);
      expect(live).toEqual(['s1', 's1']);
      expect((await (await client.nc.jetstreamManager()).streams.info(streamName)).state.last_seq).toBe(first.seq);
      subscription.unsubscribe();
    });

    it('reports a missing stream as JetStream’s "not found"', async () => {
      const error = await client.nc.jetstream().consumers.get(uniqueName('NO_SUCH_STREAM'), {}).catch((e: unknown) => e);
      expect((error as { api_error?: { code?: number } }).api_error?.code).toBe(404);
    });
  });
});

async function nextItems<T>(iterator: AsyncIterator<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5_000)));
  try {
    while (out.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next === 'timeout') throw new Error(`got ${out.length} of ${count} items`);
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
