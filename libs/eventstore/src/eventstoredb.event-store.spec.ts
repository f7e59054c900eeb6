import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { EventCatalog, UnavailableError, ValidationError, z } from '@modeltrail/contracts';
import { describeEventStoreContract } from '../test/event-store.contract';
import { EventStoreDbEventStore } from './eventstoredb.event-store';

const EVENTSTORE_URL = process.env.EVENTSTORE_URL;

function eventStoreUrl(): string {
  if (!EVENTSTORE_URL) throw new Error('EVENTSTORE_URL is not set');
  return EVENTSTORE_URL;
}

describeEventStoreContract('EventStoreDB', {
  skipReason: EVENTSTORE_URL ? undefined : 'EVENTSTORE_URL is not set: EventStoreDB contract tests need a running EventStoreDB',
  unsupported: {
    tamper: 'EventStoreDB history is append-only; no client can edit a stored event in place (forgery by append is tested below)',
    eventIdAcrossStreams: 'EventStoreDB deduplicates event ids per stream only and keeps no global id index',
  },
  async create(options) {
    const store = new EventStoreDbEventStore({ connectionString: eventStoreUrl(), catalog: options?.catalog ?? new EventCatalog({}, { strict: false }) });
    // No `tamper`: EventStoreDB's log is append-only, so no client can edit a stored event in
    // place, which is what the contract's tamper test describes (a break at the edited
    // revision). The one forgery a client can make, appending an event that copies another's
    // chain metadata, is covered by the "forged history" test below.
    return { store, cleanup: () => store.close() };
  },
});

(EVENTSTORE_URL ? describe : describe.skip)(EVENTSTORE_URL ? 'EventStoreDB forged history' : 'EventStoreDB forged history (skipped: EVENTSTORE_URL is not set: needs a running EventStoreDB)', () => {
  it('reports an event appended behind the store’s back with copied chain metadata', async () => {
    const store = new EventStoreDbEventStore({ connectionString: eventStoreUrl() });
    const raw = EventStoreDBClient.connectionString(eventStoreUrl());
    try {
      const stream = `forged-${randomUUID()}`;
      await store.append(stream, [0, 1, 2].map((i) => ({ type: 'test.Payment.v1', data: { amount: i } })), { expectedRevision: 'no_stream' });
      const [, second] = await store.readStream(stream);
      await raw.appendToStream(stream, jsonEvent({ type: second.type, data: { amount: 1_000_000 }, metadata: { ...second.metadata } }), { expectedRevision: BigInt(2) });
      const result = await store.verifyStream(stream);
      expect(result).toMatchObject({ ok: false, eventsChecked: 4, lastRevision: 3 });
      expect(result.breaks.map((b) => [b.revision, b.reason]).sort()).toEqual([
        [3, 'hash_mismatch'],
        [3, 'prev_hash_mismatch'],
      ]);
    } finally {
      await raw.dispose();
      await store.close();
    }
  });
});

/** A local TCP server that accepts connections and never answers: a hung EventStoreDB. */
async function silentServer(): Promise<{ url: string; connections: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    url: `esdb://127.0.0.1:${address.port}?tls=false`,
    connections: () => accepted,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function elapsed<T>(operation: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await operation.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

describe('EventStoreDB event store without a server', () => {
  describe('against a closed port', () => {
    let store: EventStoreDbEventStore;
    beforeEach(() => {
      store = new EventStoreDbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
    });
    afterEach(() => store.close());

    it('fails an append fast with UnavailableError naming the server', async () => {
      const { error, ms } = await elapsed(store.append('orders-1', [{ type: 'test.A.v1', data: {} }], { expectedRevision: 'no_stream' }));
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', details: { server: '127.0.0.1:1' } });
      expect((error as Error).message).toContain('EventStoreDB at 127.0.0.1:1');
      expect(ms).toBeLessThan(5_000);
    });

    it('fails reads fast with UnavailableError', async () => {
      const reads: Array<() => Promise<unknown>> = [
        () => store.readStream('orders-1'),
        () => store.readAll(),
        () => store.streamRevision('orders-1'),
        () => store.headPosition(),
        () => store.verifyStream('orders-1'),
      ];
      for (const read of reads) {
        const { error, ms } = await elapsed(read());
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toContain('127.0.0.1:1');
        expect(ms).toBeLessThan(5_000);
      }
    });

    it('ends a subscription with UnavailableError and rejects caughtUp', async () => {
      const subscription = store.subscribeToAll();
      const { error } = await elapsed((async () => {
        for await (const event of subscription) throw new Error(`unexpected event ${event.id}`);
      })());
      expect(error).toBeInstanceOf(UnavailableError);
      await expect(subscription.caughtUp).rejects.toBeInstanceOf(UnavailableError);
    });
  });

  describe('against a server that accepts and never answers', () => {
    let silent: Awaited<ReturnType<typeof silentServer>>;
    let store: EventStoreDbEventStore;
    beforeEach(async () => {
      silent = await silentServer();
      store = new EventStoreDbEventStore({ connectionString: silent.url, operationTimeoutMs: 300 });
    });
    afterEach(async () => {
      await store.close();
      await silent.stop();
    });

    it('gives up on an append and a read after the operation timeout', async () => {
      const operations: Array<() => Promise<unknown>> = [() => store.append('orders-1', [{ type: 'test.A.v1', data: {} }]), () => store.readStream('orders-1')];
      for (const operation of operations) {
        const { error, ms } = await elapsed(operation());
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toMatch(/did not answer within 300 ms/);
        expect(ms).toBeLessThan(3_000);
      }
    });
  });

  describe('refusing events before any I/O', () => {
    const catalog = () =>
      new EventCatalog({
        'test.ModelRegistered.v1': z.object({ name: z.string().min(1), owner: z.string() }),
        'test.Metric.v1': z.object({ value: z.any() }),
      });
    let silent: Awaited<ReturnType<typeof silentServer>>;
    let store: EventStoreDbEventStore;
    beforeEach(async () => {
      silent = await silentServer();
      store = new EventStoreDbEventStore({ connectionString: silent.url, catalog: catalog(), operationTimeoutMs: 300 });
    });
    afterEach(async () => {
      await store.close();
      await silent.stop();
    });

    it('rejects an event failing its schema with a ValidationError naming the field, without connecting', async () => {
      const error = await store
        .append('models-1', [
          { type: 'test.ModelRegistered.v1', data: { name: 'churn', owner: 'ada' } },
          { type: 'test.ModelRegistered.v1', data: { name: 'churn', owner: 42 } },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain('owner');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(silent.connections()).toBe(0);
    });

    it('rejects unknown types, non-JSON data, bad expectations and reserved streams without connecting', async () => {
      const valid = { type: 'test.ModelRegistered.v1', data: { name: 'churn', owner: 'ada' } };
      await expect(store.append('models-1', [{ type: 'test.Unknown.v1', data: {} }])).rejects.toThrow(/not in the event catalog/);
      await expect(store.append('metrics-1', [{ type: 'test.Metric.v1', data: { value: Number.NaN } }])).rejects.toThrow(/value is not a finite number/);
      await expect(store.append('models-1', [valid], { expectedRevision: -1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(store.append('$settings', [valid])).rejects.toThrow(/reserved/);
      await expect(store.append('models-1', [])).rejects.toThrow(/no events/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(silent.connections()).toBe(0);
    });
  });
});
