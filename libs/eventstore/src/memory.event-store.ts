import type { EventCatalog } from '@modeltrail/contracts';
import { DuplicateEventIdError } from './errors';
import { observeAppend } from './observe';
import { checkExpectedRevision, chainEvents, matchIdempotentAppend, prepareEvents, toRecorded, validateExpectedRevision, verifyChain } from './prepare';
import { ChangeSignal } from './signal';
import { PollingAllSubscription } from './subscription';
import type {
  AllSubscription,
  AppendOptions,
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamRevision,
  SubscribeToAllOptions,
  VerifyResult,
} from './types';

export interface InMemoryEventStoreOptions {
  catalog?: EventCatalog;
  now?: () => Date;
}

/** Unit tests only: the contract of the store with nothing behind it. */
export class InMemoryEventStore implements EventStore {
  readonly kind = 'memory' as const;
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingAllSubscription>();

  constructor(private readonly options: InMemoryEventStoreOptions = {}) {}

  append(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    return observeAppend('memory', stream, events.length, () => this.appendObserved(stream, events, options));
  }

  private async appendObserved(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    const stored = prepared.map((e) => this.byId.get(e.id)).filter((e): e is RecordedEvent => e !== undefined);
    const match = matchIdempotentAppend(stream, prepared, stored, expected);
    if (match === 'all') {
      const last = stored.reduce((a, b) => (a.revision > b.revision ? a : b));
      return { nextExpectedRevision: last.revision, position: last.position };
    }
    if (match === 'partial') throw new DuplicateEventIdError(stored[0].id, stream);

    const existing = this.streams.get(stream) ?? [];
    const current: StreamRevision = existing.length ? existing[existing.length - 1].revision : 'no_stream';
    checkExpectedRevision(stream, expected, current);
    const chained = chainEvents(stream, prepared, current, existing.length ? existing[existing.length - 1].metadata.hash : null);
    const recorded = chained.map((e, i) => toRecorded(e, this.all.length + i + 1));
    this.all.push(...recorded);
    this.streams.set(stream, [...existing, ...recorded]);
    for (const e of recorded) this.byId.set(e.id, e);
    this.changes.notify();
    const last = recorded[recorded.length - 1];
    // Copies: what callers do with them must not change what is stored.
    return { nextExpectedRevision: last.revision, position: last.position, recorded: structuredClone(recorded) };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const events = this.streams.get(stream) ?? [];
    const backwards = options.direction === 'backwards';
    let selected = backwards ? [...events].reverse() : events;
    if (options.fromRevision !== undefined) {
      const from = options.fromRevision;
      selected = selected.filter((e) => (backwards ? e.revision <= from : e.revision >= from));
    }
    if (options.maxCount !== undefined) selected = selected.slice(0, options.maxCount);
    return selected.map((e) => this.present(e));
  }

  async streamRevision(stream: string): Promise<StreamRevision> {
    const events = this.streams.get(stream);
    return events && events.length ? events[events.length - 1].revision : 'no_stream';
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const from = options.fromPosition ?? 0;
    const to = options.toPosition ?? Number.MAX_SAFE_INTEGER;
    const limit = options.limit ?? 1000;
    const out: RecordedEvent[] = [];
    for (let i = Math.max(0, from - 1); i < this.all.length && out.length < limit; i++) {
      const e = this.all[i];
      if (e.position >= from && e.position <= to) out.push(this.present(e));
    }
    return out;
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    const subscription: PollingAllSubscription = new PollingAllSubscription(
      (after, limit) => this.readAll({ fromPosition: after + 1, limit }),
      this.changes,
      { fromPosition: options.fromPosition ?? 0, batchSize: 500, pollIntervalMs: 1000 },
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async verifyStream(stream: string): Promise<VerifyResult> {
    return verifyChain(stream, this.streams.get(stream) ?? []);
  }

  async headPosition(): Promise<number> {
    return this.all.length;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  /**
   * Test hook standing in for "someone edited stored history": replaces the stored data of
   * one event without touching its hash, as an UPDATE behind the store's back would.
   */
  tamper(stream: string, revision: number, data: unknown): void {
    const events = this.streams.get(stream);
    const index = events?.findIndex((e) => e.revision === revision) ?? -1;
    if (!events || index < 0) throw new Error(`no event ${stream}@${revision}`);
    const tampered = { ...events[index], data };
    events[index] = tampered;
    this.all[tampered.position - 1] = tampered;
    this.byId.set(tampered.id, tampered);
  }

  /** Copies out, so callers cannot mutate stored history, and upcasts to current shapes. */
  private present(event: RecordedEvent): RecordedEvent {
    const copy: RecordedEvent = { ...event, data: structuredClone(event.data), metadata: { ...event.metadata } };
    return this.options.catalog ? this.options.catalog.upcast(copy) : copy;
  }
}
