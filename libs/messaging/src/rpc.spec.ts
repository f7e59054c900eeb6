import { ConflictError, defineRpc, InternalError, NotFoundError, UnavailableError, ValidationError, z, type MessageHeaders, type ModelTrailError } from '@modeltrail/contracts';
import { describeWithNats, itWithNats, signedRpcClient, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { connectNats, type ManagedNatsConnection } from './nats.connection';
import { RpcClient } from './rpc.client';
import { serveRpc, type RpcServer } from './rpc.server';

const base = uniqueName('mt.cmd.rpctest');
const CreateThing = defineRpc(
  `${base}.CreateThing`,
  z.object({ name: z.string().min(1), count: z.number().int() }),
  z.object({ id: z.string(), name: z.string(), count: z.number(), seenBy: z.string() }),
);
const Slow = defineRpc(`${base}.Slow`, z.object({}), z.object({ done: z.boolean() }));
const Nobody = defineRpc(`${base}.Nobody`, z.object({}), z.object({}));
const BadReply = defineRpc(`${base}.BadReply`, z.object({}), z.object({ id: z.string() }));
const Shared = defineRpc(`${base}.Shared`, z.object({ i: z.number() }), z.object({ i: z.number(), server: z.string() }));

const who: MessageHeaders = { actor: 'user:ada', correlationId: 'corr-1', causationId: 'cause-1', commandId: 'cmd-1' };

/** Rejects unless `promise` rejects with a ModelTrailError of `type`; returns it. */
async function caught<T extends ModelTrailError>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected a ${type.name}`);
}

describeWithNats('typed request/reply over NATS', () => {
  let server: ManagedNatsConnection;
  let client: ManagedNatsConnection;
  let rpc: RpcClient;
  const logger = new RecordingLogger();
  const received: Array<{ request: unknown; headers: MessageHeaders }> = [];
  const responders: RpcServer[] = [];
  let releaseSlow: () => void = () => undefined;

  beforeAll(async () => {
    server = await connectNats({ url: TEST_NATS_URL, name: 'rpc-test-server', logger });
    client = await connectNats({ url: TEST_NATS_URL, name: 'rpc-test-client', logger });
    rpc = signedRpcClient(client.nc, { timeoutMs: 2000 });
    responders.push(
      serveRpc(
        server.nc,
        CreateThing,
        async (request, headers) => {
          received.push({ request, headers });
          if (request.name === 'missing') throw new NotFoundError('thing "missing" does not exist', { thingId: 'missing' });
          if (request.name === 'taken') throw new ConflictError('thing "taken" already exists');
          if (request.name === 'boom') throw new Error('db password is hunter2');
          return { id: `thing-${request.name}`, name: request.name, count: request.count, seenBy: headers.actor };
        },
        { queue: 'things', logger },
      ),
      serveRpc(server.nc, Slow, () => new Promise<{ done: boolean }>((resolve) => (releaseSlow = () => resolve({ done: true }))), { logger }),
      serveRpc(server.nc, BadReply, () => ({ id: 42 }) as unknown as { id: string }, { logger }),
    );
    await server.nc.flush();
  });

  afterAll(async () => {
    releaseSlow();
    await Promise.all(responders.map((r) => r.stop()));
    await client.close();
    await server.close();
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('answers a request with the typed reply, and the headers reach the handler', async () => {
    const reply = await rpc.request(CreateThing, { name: 'lamp', count: 3 }, { headers: who });

    expect(reply).toEqual({ id: 'thing-lamp', name: 'lamp', count: 3, seenBy: 'user:ada' });
    expect(received).toEqual([{ request: { name: 'lamp', count: 3 }, headers: who }]);
  });

  it('rejects an invalid request with a ValidationError naming the field, without calling the handler', async () => {
    const error = await caught(rpc.request(CreateThing, { name: 'lamp', count: 'three' } as never, { headers: who }), ValidationError);

    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('field "count"');
    expect(error.details).toEqual({ issues: [expect.objectContaining({ field: 'count' })] });
    expect(received).toEqual([]);
  });

  it('rebuilds the typed error the handler threw, with its code, message and details', async () => {
    const notFound = await caught(rpc.request(CreateThing, { name: 'missing', count: 1 }, { headers: who }), NotFoundError);
    expect(notFound).toMatchObject({ code: 'NOT_FOUND', message: 'thing "missing" does not exist', details: { thingId: 'missing' } });

    const conflict = await caught(rpc.request(CreateThing, { name: 'taken', count: 1 }, { headers: who }), ConflictError);
    expect(conflict).toMatchObject({ code: 'CONFLICT', message: 'thing "taken" already exists' });
  });

  it('turns an unexpected error into INTERNAL with a generic message, and logs it with its stack', async () => {
    const error = await caught(rpc.request(CreateThing, { name: 'boom', count: 1 }, { headers: who }), InternalError);

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe(`internal error while handling ${CreateThing.subject}`);
    expect(error.message).not.toContain('hunter2');
    expect(error.details).toBeUndefined();
    const logged = logger.errors().find((e) => e.message.includes('hunter2'));
    expect(logged?.stack).toContain('rpc.spec.ts');
  });

  it('reports a timeout as UnavailableError naming the subject', async () => {
    const error = await caught(rpc.request(Slow, {}, { headers: who, timeoutMs: 150 }), UnavailableError);

    expect(error.message).toContain(Slow.subject);
    expect(error.message).toContain('timed out after 150 ms');
    expect(error.details).toEqual({ subject: Slow.subject, timeoutMs: 150 });
  });

  it('reports "no responders" as UnavailableError naming the subject, at once', async () => {
    const started = Date.now();
    const error = await caught(rpc.request(Nobody, {}, { headers: who, timeoutMs: 5000 }), UnavailableError);

    expect(error.message).toBe(`no service answers ${Nobody.subject} (no responders)`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a request larger than one NATS message may carry with a ValidationError naming both sizes, sending nothing', async () => {
    const max = client.nc.info!.max_payload;
    const error = await caught(rpc.request(CreateThing, { name: 'x'.repeat(max), count: 1 }, { headers: who }), ValidationError);

    expect(error.message).toMatch(new RegExp(`^request to ${CreateThing.subject.replace(/\./g, '\\.')} is [\\d,]+ KiB, more than the [\\d,]+ KiB one message may carry \\(the NATS server's max_payload\\): send fewer items per call`));
    expect(received).toEqual([]);
  });

  it('rejects a reply that does not match the reply schema as INTERNAL', async () => {
    const error = await caught(rpc.request(BadReply, {}, { headers: who }), InternalError);

    expect(error.message).toBe(`reply of ${BadReply.subject} does not match its schema`);
    expect(error.details).toEqual({ issues: [expect.objectContaining({ field: 'id' })] });
  });

  it('answers a request without actor or correlation id with VALIDATION naming the headers', async () => {
    const raw = await client.nc.request(CreateThing.subject, new TextEncoder().encode('{"name":"x","count":1}'), { timeout: 2000 });

    expect(raw.json()).toEqual({ ok: false, error: expect.objectContaining({ code: 'VALIDATION', message: 'request headers are missing Mt-Actor and Mt-Correlation-Id' }) });
    expect(received).toEqual([]);
  });

  it('shares the requests of a queue group between replicas, each answered once', async () => {
    const servers = ['a', 'b'].map((name) => serveRpc(server.nc, Shared, (request) => ({ i: request.i, server: name }), { queue: 'shared', logger }));
    responders.push(...servers);
    await server.nc.flush();

    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => rpc.request(Shared, { i }, { headers: who })));

    expect(replies.map((r) => r.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(servers.reduce((sum, s) => sum + s.subscription.getProcessed(), 0)).toBe(40);
  });

  it('stop() lets the request in progress answer before the responder goes away', async () => {
    const Gate = defineRpc(`${base}.Gate`, z.object({}), z.object({ ok: z.boolean() }));
    let open: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const gated = serveRpc(server.nc, Gate, () => {
      entered();
      return new Promise<{ ok: boolean }>((resolve) => (open = () => resolve({ ok: true })));
    });
    await server.nc.flush();

    const pending = rpc.request(Gate, {}, { headers: who });
    await inside;
    const stopped = gated.stop();
    open();

    await expect(pending).resolves.toEqual({ ok: true });
    await stopped;
    await caught(rpc.request(Gate, {}, { headers: who }), UnavailableError);
  });
});

describeWithNats('RpcClient on a connection that goes away', () => {
  it('fails a request in flight and a later one as UNAVAILABLE, naming the subject, without waiting for the timeout', async () => {
    const logger = new RecordingLogger();
    const server = await connectNats({ url: TEST_NATS_URL, name: 'rpc-close-server', logger });
    const client = await connectNats({ url: TEST_NATS_URL, name: 'rpc-close-client', logger });
    const Hang = defineRpc(`${base}.Hang`, z.object({}), z.object({}));
    const hanging = serveRpc(server.nc, Hang, () => new Promise<Record<string, never>>(() => undefined), { logger });
    await server.nc.flush();
    try {
      const rpc = signedRpcClient(client.nc, { timeoutMs: 10_000 });
      const started = Date.now();
      const inFlight = caught(rpc.request(Hang, {}, { headers: who }), UnavailableError);
      await client.nc.flush();
      await client.nc.close();

      expect((await inFlight).message).toContain(Hang.subject);
      const later = await caught(rpc.request(Hang, {}, { headers: who }), UnavailableError);
      expect(later.message).toBe(`request to ${Hang.subject} failed: the NATS connection is closed`);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      hanging.subscription.unsubscribe();
      await server.close();
    }
  });
});

describe('connectNats', () => {
  it('fails at once with an error naming the URL when NATS is not there', async () => {
    const error = await caught(connectNats({ url: 'nats://127.0.0.1:1', name: 'nowhere', connectTimeoutMs: 2000 }), UnavailableError);

    expect(error.message).toMatch(/^cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: /);
  });

  it('never puts a password into the error', async () => {
    const error = await caught(connectNats({ url: 'nats://svc:s3cret@127.0.0.1:1', name: 'nowhere', connectTimeoutMs: 2000 }), UnavailableError);

    expect(error.message).toContain('nats://svc:***@127.0.0.1:1');
    expect(error.message).not.toContain('s3cret');
  });

  itWithNats('close() drains: a message published just before close is still delivered', async () => {
    const subscriber = await connectNats({ url: TEST_NATS_URL, name: 'drain-sub', logger: new RecordingLogger() });
    const publisher = await connectNats({ url: TEST_NATS_URL, name: 'drain-pub', logger: new RecordingLogger() });
    const subject = `${base}.drain`;
    const got: string[] = [];
    subscriber.nc.subscribe(subject, { callback: (_e, msg) => got.push(msg.string()) });
    await subscriber.nc.flush();

    publisher.nc.publish(subject, 'last words');
    await publisher.close();
    await subscriber.nc.flush();
    await subscriber.close();

    expect(got).toEqual(['last words']);
    expect(publisher.nc.isClosed()).toBe(true);
    await publisher.close(); // idempotent
  });
});

describeWithNats('subject namespaces', () => {
  it('keeps installations that share one NATS apart', async () => {
    const logger = new RecordingLogger();
    const server = await connectNats({ url: TEST_NATS_URL, name: 'rpc-ns-server', logger });
    const client = await connectNats({ url: TEST_NATS_URL, name: 'rpc-ns-client', logger });
    const blue = uniqueName('blue');
    const green = uniqueName('green');
    const Echo = defineRpc('mt.qry.rpctest.Echo', z.object({ say: z.string() }), z.object({ said: z.string(), by: z.string() }));
    const responders = [
      serveRpc(server.nc, Echo, (req) => ({ said: req.say, by: 'blue' }), { namespace: blue, logger }),
      serveRpc(server.nc, Echo, (req) => ({ said: req.say, by: 'green' }), { namespace: green, logger }),
    ];
    try {
      await server.nc.flush();
      for (let i = 0; i < 5; i++) {
        await expect(signedRpcClient(client.nc, { namespace: blue }).request(Echo, { say: 'hi' }, { headers: who })).resolves.toEqual({ said: 'hi', by: 'blue' });
        await expect(signedRpcClient(client.nc, { namespace: green }).request(Echo, { say: 'hi' }, { headers: who })).resolves.toEqual({ said: 'hi', by: 'green' });
      }
      await caught(signedRpcClient(client.nc, { namespace: uniqueName('nobody') }).request(Echo, { say: 'hi' }, { headers: who }), UnavailableError);
      expect(() => new RpcClient(client.nc, { namespace: 'bad..name' })).toThrow(/namespace/);
    } finally {
      await Promise.all(responders.map((r) => r.stop()));
      await server.close();
      await client.close();
    }
  });
});
