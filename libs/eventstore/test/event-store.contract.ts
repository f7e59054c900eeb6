import { randomUUID } from 'node:crypto';
import { EventCatalog, ValidationError, z } from '@modeltrail/contracts';
import { take, uniqueName } from '@modeltrail/testing';
import { type AppendResult, DuplicateEventIdError, GENESIS_HASH, type NewEvent, type RecordedEvent, WrongExpectedRevisionError } from '../src';
import type { ContractHarness, StoreUnderTest } from './contract.harness';

/** Where an append left the stream: what an idempotent repeat must report again. */
function placeOf(result: AppendResult): Pick<AppendResult, 'nextExpectedRevision' | 'position'> {
  return { nextExpectedRevision: result.nextExpectedRevision, position: result.position };
}

/**
 * The one contract every event store adapter passes (docs/architecture.md: Event store). Streams are named under a
 * prefix unique to the test, and global reads are filtered by it, so the suite also holds on a
 * shared server (EventStoreDB) that has other events in $all.
 */
export function describeEventStoreContract(name: string, harness: ContractHarness): void {
  // Skipped suites still register every test, so the totals show how many did not run.
  const suite = harness.skipReason ? describe.skip : describe;
  suite(harness.skipReason ? `${name} event store contract (skipped: ${harness.skipReason})` : `${name} event store contract`, () => {
    let sut: StoreUnderTest;
    let prefix: string;
    const stream = (suffix: string) => `${prefix}-${suffix}`;
    const mine = (events: RecordedEvent[]) => events.filter((e) => e.stream.startsWith(prefix));
    const unless = (reason: string | undefined) => (reason ? it.skip : it);
    const titled = (title: string, reason: string | undefined) => (reason ? `${title} (skipped: ${reason})` : title);
    const ev = (type = 'test.Happened.v1', data: unknown = { n: 1 }, id?: string): NewEvent => ({ id, type, data });

    beforeEach(async () => {
      sut = await harness.create();
      prefix = uniqueName('s').replace(/_/g, '');
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    describe('append and optimistic concurrency', () => {
      it('creates a stream with no_stream and numbers its events from revision 0', async () => {
        const s = stream('a');
        const result = await sut.store.append(s, [ev('test.A.v1', { n: 1 }), ev('test.B.v1', { n: 2 })], { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1);
        const events = await sut.store.readStream(s);
        expect(events.map((e) => [e.revision, e.type, e.data])).toEqual([
          [0, 'test.A.v1', { n: 1 }],
          [1, 'test.B.v1', { n: 2 }],
        ]);
        expect(events[1].position).toBeGreaterThan(events[0].position);
        expect(result.position).toBe(events[1].position);
        expect(await sut.store.streamRevision(s)).toBe(1);
      });

      it('rejects no_stream on an existing stream with a typed conflict carrying stream, expected and actual', async () => {
        const s = stream('b');
        await sut.store.append(s, [ev(), ev()], { expectedRevision: 'no_stream' });
        const error = await sut.store.append(s, [ev()], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ stream: s, expected: 'no_stream', actual: 1, code: 'CONFLICT' });
      });

      it('appends at an exact revision and rejects a stale one', async () => {
        const s = stream('c');
        await sut.store.append(s, [ev()], { expectedRevision: 'no_stream' });
        await expect(sut.store.append(s, [ev()], { expectedRevision: 0 })).resolves.toMatchObject({ nextExpectedRevision: 1 });
        const error = await sut.store.append(s, [ev()], { expectedRevision: 0 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ stream: s, expected: 0, actual: 1 });
        expect(await sut.store.streamRevision(s)).toBe(1);
      });

      it('reports no_stream as the actual revision when an exact revision meets a missing stream', async () => {
        const s = stream('d');
        const error = await sut.store.append(s, [ev()], { expectedRevision: 3 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ stream: s, expected: 3, actual: 'no_stream' });
        await expect(sut.store.append(s, [ev()], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect(await sut.store.streamRevision(s)).toBe('no_stream');
      });

      it('appends with any whatever the stream holds', async () => {
        const s = stream('e');
        await sut.store.append(s, [ev()], { expectedRevision: 'any' });
        await sut.store.append(s, [ev()], { expectedRevision: 'any' });
        await sut.store.append(s, [ev()], { expectedRevision: 'stream_exists' });
        expect((await sut.store.readStream(s)).map((e) => e.revision)).toEqual([0, 1, 2]);
      });

      it('lets exactly one of 8 writers racing at the same expected revision win', async () => {
        const s = stream('race');
        await sut.store.append(s, [ev('test.Seeded.v1')], { expectedRevision: 'no_stream' });
        const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => sut.store.append(s, [ev('test.Raced.v1', { writer: i })], { expectedRevision: 0 })));
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const loss of lost) {
          expect(loss.reason).toBeInstanceOf(WrongExpectedRevisionError);
          expect(loss.reason).toMatchObject({ stream: s, expected: 0, actual: 1 });
        }
        const events = await sut.store.readStream(s);
        expect(events).toHaveLength(2);
        expect((await sut.store.verifyStream(s)).ok).toBe(true);
      });

      it('lets exactly one of 8 writers create the same new stream', async () => {
        const s = stream('create-race');
        const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => sut.store.append(s, [ev('test.Created.v1', { writer: i })], { expectedRevision: 'no_stream' })));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ stream: s, expected: 'no_stream', actual: 0 });
        expect(await sut.store.readStream(s)).toHaveLength(1);
      });
    });

    describe('idempotent re-append', () => {
      it('re-appending the same event ids at the same place writes nothing and returns the same result', async () => {
        const s = stream('idem');
        const batch = [ev('test.A.v1', { n: 1 }, randomUUID()), ev('test.B.v1', { n: 2 }, randomUUID())];
        const first = await sut.store.append(s, batch, { expectedRevision: 'no_stream' });
        const again = await sut.store.append(s, batch, { expectedRevision: 'no_stream' });
        expect(placeOf(again)).toEqual(placeOf(first));
        const retriedWithAny = await sut.store.append(s, batch, { expectedRevision: 'any' });
        expect(placeOf(retriedWithAny)).toEqual(placeOf(first));
        expect(await sut.store.readStream(s)).toHaveLength(2);
        const all = mine(await sut.store.readAll({ limit: 10_000 }));
        expect(all.filter((e) => e.stream === s)).toHaveLength(2);
      });

      it('lets 8 identical appends racing with the same ids all succeed, writing the events once', async () => {
        for (const expectedRevision of ['no_stream', 0] as const) {
          const s = stream(`idem-race-${expectedRevision}`);
          if (expectedRevision === 0) await sut.store.append(s, [ev()], { expectedRevision: 'no_stream' });
          const batch = [ev('test.A.v1', { n: 1 }, randomUUID()), ev('test.B.v1', { n: 2 }, randomUUID())];
          const results = await Promise.all(Array.from({ length: 8 }, () => sut.store.append(s, batch, { expectedRevision })));
          expect(new Set(results.map((r) => JSON.stringify(placeOf(r)))).size).toBe(1);
          expect(await sut.store.readStream(s)).toHaveLength(expectedRevision === 0 ? 3 : 2);
        }
      });

      it('re-appending after the stream moved on is still recognised at its original place', async () => {
        const s = stream('idem2');
        const batch = [ev('test.A.v1', { n: 1 }, randomUUID())];
        const first = await sut.store.append(s, batch, { expectedRevision: 'no_stream' });
        await sut.store.append(s, [ev()], { expectedRevision: 0 });
        expect(placeOf(await sut.store.append(s, batch, { expectedRevision: 'no_stream' }))).toEqual(placeOf(first));
        expect(await sut.store.readStream(s)).toHaveLength(2);
      });

      unless(harness.unsupported?.eventIdAcrossStreams)(titled('refuses an event id that already exists in another stream', harness.unsupported?.eventIdAcrossStreams), async () => {
        const id = randomUUID();
        await sut.store.append(stream('one'), [ev('test.A.v1', {}, id)], { expectedRevision: 'no_stream' });
        await expect(sut.store.append(stream('two'), [ev('test.A.v1', {}, id)], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await sut.store.streamRevision(stream('two'))).toBe('no_stream');
      });
    });

    describe('reading', () => {
      it('reads a stream forwards, backwards, from a revision and with a maximum count', async () => {
        const s = stream('read');
        await sut.store.append(s, Array.from({ length: 6 }, (_, i) => ev('test.N.v1', { i })), { expectedRevision: 'no_stream' });
        const rev = (events: RecordedEvent[]) => events.map((e) => e.revision);
        expect(rev(await sut.store.readStream(s))).toEqual([0, 1, 2, 3, 4, 5]);
        expect(rev(await sut.store.readStream(s, { fromRevision: 2, maxCount: 3 }))).toEqual([2, 3, 4]);
        expect(rev(await sut.store.readStream(s, { direction: 'backwards', maxCount: 2 }))).toEqual([5, 4]);
        expect(rev(await sut.store.readStream(s, { direction: 'backwards', fromRevision: 3 }))).toEqual([3, 2, 1, 0]);
        expect(await sut.store.readStream(stream('missing'))).toEqual([]);
      });

      it('reads all events in global position order with from/to positions and a limit', async () => {
        const a = stream('ra');
        const b = stream('rb');
        for (let i = 0; i < 5; i++) {
          await sut.store.append(a, [ev('test.N.v1', { s: 'a', i })]);
          await sut.store.append(b, [ev('test.N.v1', { s: 'b', i })]);
        }
        const all = mine(await sut.store.readAll({ limit: 100_000 }));
        expect(all).toHaveLength(10);
        expect(all.map((e) => (e.data as { s: string }).s)).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
        for (let i = 1; i < all.length; i++) expect(all[i].position).toBeGreaterThan(all[i - 1].position);

        const from = all[3].position;
        const to = all[7].position;
        const window = mine(await sut.store.readAll({ fromPosition: from, toPosition: to }));
        expect(window.map((e) => e.id)).toEqual(all.slice(3, 8).map((e) => e.id));
        const limited = await sut.store.readAll({ fromPosition: from, limit: 2 });
        expect(limited.map((e) => e.id)).toEqual(all.slice(3, 5).map((e) => e.id));
        expect(await sut.store.headPosition()).toBeGreaterThanOrEqual(all[9].position);
      });

      it('records metadata: actor, correlation and causation ids, time and the hash chain', async () => {
        const s = stream('meta');
        const occurredAt = '2026-03-01T12:00:00.000Z';
        await sut.store.append(s, [{ type: 'test.A.v1', data: { x: 1 }, metadata: { actor: 'ada', correlationId: 'corr-1', causationId: 'cause-1', occurredAt } }, ev()]);
        const [first, second] = await sut.store.readStream(s);
        expect(first.metadata).toMatchObject({ actor: 'ada', correlationId: 'corr-1', causationId: 'cause-1', occurredAt, prevHash: GENESIS_HASH });
        expect(first.metadata.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(second.metadata.prevHash).toBe(first.metadata.hash);
        expect(second.metadata.actor).toBe('system');
        expect(second.metadata.correlationId).toBe(second.id);
        expect(second.metadata.causationId).toBeNull();
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from the start, then goes live, without gaps or duplicates', async () => {
        const s = stream('sub');
        await sut.store.append(s, Array.from({ length: 5 }, (_, i) => ev('test.N.v1', { i })));
        const subscription = sut.store.subscribeToAll();
        const received: RecordedEvent[] = [];
        const collecting = (async () => {
          for await (const event of subscription) {
            if (!event.stream.startsWith(prefix)) continue;
            received.push(event);
            if (received.length === 12) break;
          }
        })();
        await subscription.caughtUp;
        expect(received.length).toBeGreaterThanOrEqual(5);
        for (let i = 5; i < 12; i++) await sut.store.append(s, [ev('test.N.v1', { i })]);
        await collecting;
        await subscription.close();
        expect(received.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        expect(new Set(received.map((e) => e.id)).size).toBe(12);
      });

      it('resumes after a checkpoint position, delivering only later events', async () => {
        const s = stream('resume');
        await sut.store.append(s, Array.from({ length: 4 }, (_, i) => ev('test.N.v1', { i })));
        const [, second] = await sut.store.readStream(s);
        const subscription = sut.store.subscribeToAll({ fromPosition: second.position });
        const later = (await take(subscription, 2)).filter((e) => e.stream === s);
        await subscription.close();
        expect(later.map((e) => e.revision)).toEqual([2, 3]);
      });

      it('ends a pending iteration when closed', async () => {
        const subscription = sut.store.subscribeToAll({ fromPosition: await sut.store.headPosition() });
        const iterator = subscription[Symbol.asyncIterator]();
        const pending = iterator.next();
        await subscription.close();
        await expect(pending).resolves.toMatchObject({ done: true });
      });

      it('delivers the same events in batches of at most maxSize, catching up then live, without gaps or duplicates', async () => {
        const s = stream('batches');
        await sut.store.append(s, Array.from({ length: 7 }, (_, i) => ev('test.N.v1', { i })));
        const subscription = sut.store.subscribeToAll();
        const received: RecordedEvent[] = [];
        const sizes: number[] = [];
        const collecting = (async () => {
          for await (const batch of subscription.batches({ maxSize: 3 })) {
            sizes.push(batch.length);
            received.push(...mine(batch));
            if (received.length >= 12) break;
          }
        })();
        await subscription.caughtUp;
        for (let i = 7; i < 12; i++) await sut.store.append(s, [ev('test.N.v1', { i })]);
        await collecting;
        await subscription.close();
        expect(received.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        expect(new Set(received.map((e) => e.id)).size).toBe(12);
        expect(sizes.every((size) => size >= 1 && size <= 3)).toBe(true);
      });

      it('hands a live event over in a batch at once, without waiting for a full batch', async () => {
        const subscription = sut.store.subscribeToAll({ fromPosition: await sut.store.headPosition() });
        const batches = subscription.batches({ maxSize: 1000 })[Symbol.asyncIterator]();
        const next = batches.next();
        const s = stream('live-batch');
        await sut.store.append(s, [ev('test.N.v1', { i: 0 })]);
        const delivered: RecordedEvent[] = [];
        for (let result = await next; !result.done; result = await batches.next()) {
          delivered.push(...mine(result.value));
          if (delivered.length > 0) break;
        }
        await subscription.close();
        expect(delivered.map((e) => e.stream)).toEqual([s]);
      });

      it('is iterated once, event by event or in batches, and a pending batch ends when closed', async () => {
        const subscription = sut.store.subscribeToAll({ fromPosition: await sut.store.headPosition() });
        const batches = subscription.batches()[Symbol.asyncIterator]();
        expect(() => subscription[Symbol.asyncIterator]()).toThrow(/only once/);
        const pending = batches.next();
        await subscription.close();
        await expect(pending).resolves.toMatchObject({ done: true });
      });
    });

    describe('hash chain', () => {
      it('verifies untouched history', async () => {
        const s = stream('chain');
        await sut.store.append(s, Array.from({ length: 3 }, (_, i) => ev('test.N.v1', { i })));
        await sut.store.append(s, [ev('test.N.v1', { i: 3 })], { expectedRevision: 2 });
        await expect(sut.store.verifyStream(s)).resolves.toMatchObject({ stream: s, ok: true, eventsChecked: 4, lastRevision: 3, breaks: [] });
        await expect(sut.store.verifyStream(stream('none'))).resolves.toMatchObject({ ok: true, eventsChecked: 0, lastRevision: 'no_stream' });
      });

      unless(harness.unsupported?.tamper)(titled('reports an event whose stored data was changed behind the store’s back, with its stream and revision', harness.unsupported?.tamper), async () => {
        if (!sut.tamper) throw new Error(`${name} harness has no tamper(); declare unsupported.tamper with the reason instead`);
        const s = stream('tamper');
        const other = stream('untouched');
        await sut.store.append(s, Array.from({ length: 4 }, (_, i) => ev('test.Payment.v1', { amount: 10 * i })));
        await sut.store.append(other, [ev()]);
        await sut.tamper(s, 2, { amount: 1_000_000 });
        const result = await sut.store.verifyStream(s);
        expect(result.ok).toBe(false);
        expect(result.breaks).toEqual([expect.objectContaining({ stream: s, revision: 2, reason: 'hash_mismatch' })]);
        expect((await sut.store.verifyStream(other)).ok).toBe(true);
      });
    });

    describe('schemas and upcasting', () => {
      const catalog = () =>
        new EventCatalog({
          'test.ModelRegistered.v1': z.object({ name: z.string().min(1), owner: z.string() }),
          'test.ModelRegistered.v2': z.object({ name: z.string().min(1), owners: z.array(z.string()) }),
        }).registerUpcaster('test.ModelRegistered.v1', (data) => {
          const v1 = data as { name: string; owner: string };
          return { type: 'test.ModelRegistered.v2', data: { name: v1.name, owners: [v1.owner] } };
        });

      it('rejects an event whose data fails its schema, naming the field, and writes nothing', async () => {
        await sut.cleanup();
        sut = await harness.create({ catalog: catalog() });
        const s = stream('schema');
        const before = mine(await sut.store.readAll({ limit: 100_000 })).length;
        const error = await sut.store
          .append(s, [
            { type: 'test.ModelRegistered.v1', data: { name: 'ok', owner: 'ada' } },
            { type: 'test.ModelRegistered.v1', data: { name: 'churn', owner: 42 } },
          ])
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as Error).message).toContain('owner');
        expect(await sut.store.streamRevision(s)).toBe('no_stream');
        expect(mine(await sut.store.readAll({ limit: 100_000 }))).toHaveLength(before);
        await expect(sut.store.append(s, [{ type: 'test.Unknown.v1', data: {} }])).rejects.toThrow(/not in the event catalog/);
      });

      it('rejects data JSON cannot hold (a non-finite number) before writing', async () => {
        const s = stream('nan');
        await expect(sut.store.append(s, [ev('test.Metric.v1', { value: Number.NaN })])).rejects.toThrow(/value is not a finite number/);
        expect(await sut.store.streamRevision(s)).toBe('no_stream');
      });

      it('rejects a NUL character in data before writing, naming where it is', async () => {
        const s = stream('nul');
        await expect(sut.store.append(s, [ev('test.Note.v1', { text: 'a\u0000b' })])).rejects.toThrow(/data\.text contains a NUL character/);
        expect(await sut.store.streamRevision(s)).toBe('no_stream');
      });

      it('rejects what storage could not give back unchanged, before writing', async () => {
        const s = stream('unstorable');
        await expect(sut.store.append(s, [ev('test.Note.v1', { text: 'a\ud800b' })])).rejects.toThrow(/data\.text contains an unpaired UTF-16 surrogate/);
        await expect(sut.store.append(s, [ev('test.Blob.v1', { blob: 'x'.repeat(800 * 1024) })])).rejects.toThrow(/bytes; at most \d+ fit in an event/);
        await expect(sut.store.append(s, [{ type: 'test.A.v1', data: {}, metadata: { occurredAt: '+010000-01-01T00:00:00Z' } }])).rejects.toThrow(/between years 1 and 9999/);
        expect(await sut.store.streamRevision(s)).toBe('no_stream');
      });

      it('keeps a data key named __proto__ as a key', async () => {
        const s = stream('proto');
        await sut.store.append(s, [ev('test.Odd.v1', JSON.parse('{"__proto__": {"x": 1}, "y": 2}'))]);
        const [event] = await sut.store.readStream(s);
        expect(Object.keys(event.data as object).sort()).toEqual(['__proto__', 'y']);
        expect((await sut.store.verifyStream(s)).ok).toBe(true);
      });

      it('upcasts old shapes on read while the stored history still verifies', async () => {
        await sut.cleanup();
        sut = await harness.create({ catalog: catalog() });
        const s = stream('upcast');
        await sut.store.append(s, [{ type: 'test.ModelRegistered.v1', data: { name: 'churn', owner: 'ada' } }]);
        const [event] = await sut.store.readStream(s);
        expect(event).toMatchObject({ type: 'test.ModelRegistered.v2', data: { name: 'churn', owners: ['ada'] } });
        const [fromAll] = mine(await sut.store.readAll({ limit: 100_000 })).filter((e) => e.stream === s);
        expect(fromAll.type).toBe('test.ModelRegistered.v2');
        expect((await sut.store.verifyStream(s)).ok).toBe(true);
      });
    });
  });
}
