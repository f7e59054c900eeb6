import {
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventData,
  type JSONType,
  type Position,
  type RecordedEvent as EsdbRecordedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import { type EventCatalog, ModelTrailError, UnavailableError } from '@modeltrail/contracts';
import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors';
import { observeAppend } from './observe';
import { eachEvent } from './subscription';
import { type ChainedEvent, type PreparedEvent, SYSTEM_ACTOR, checkExpectedRevision, chainEvents, matchIdempotentAppend, metadataOf, prepareEvents, validateExpectedRevision, verifyChain } from './prepare';
import type {
  AllSubscription,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamRevision,
  SubscribeToAllOptions,
  SubscriptionBatchOptions,
  VerifyResult,
} from './types';

export interface EventStoreDbEventStoreOptions {
  /** `esdb://host:2113?tls=false`, or `esdb+discover://a:2113,b:2113` for a cluster. */
  connectionString: string;
  catalog?: EventCatalog;
  now?: () => Date;
  /**
   * How long one call may wait for the server before it fails as unavailable (default 10 000 ms).
   * The client gives up at once on a refused connection, but waits forever on a server that
   * accepts and never answers; this bound covers that case too.
   */
  operationTimeoutMs?: number;
}

/** 'any' and 'stream_exists' name no revision: the adapter picks the current one and may have to retry. */
const MAX_APPEND_ATTEMPTS = 8;
/** Most events per page when reading $all; system events are dropped after reading, so more pages are read as needed. */
const READ_ALL_PAGE = 512;
/**
 * Pages when looking backwards for the newest non-system event: small first (it is usually
 * near the end), then growing, as a server with little traffic of ours holds long runs of its
 * own statistics events.
 */
const HEAD_SCAN_FIRST_PAGE = 32;
const HEAD_SCAN_MAX_PAGE = 4096;
/** EventStoreDB's "no position" marker (ulong.MaxValue), sent for stream reads by servers before 22.6. */
const NO_POSITION = 2n ** 64n - 1n;

type AppendOutcome = { kind: 'written'; result: AppendResult } | { kind: 'conflict'; actual: StreamRevision };

/**
 * The EventStore port on EventStoreDB (docs/architecture.md: Event store), with the PostgreSQL adapter's semantics.
 *
 * Hash chain: each event's metadata holds its prevHash and hash, so an append must know the
 * stream's last hash. It reads the last event, then appends with exactly the revision it read
 * as the expected revision; if anyone wrote in between, EventStoreDB refuses and the append
 * starts over. The chain therefore never forks, whatever expectation the caller gave.
 *
 * Positions: the global position of an event is its $all commit position. Events appended by
 * this adapter are implicit transactions, whose commit and prepare positions are equal, so one
 * number is enough to resume from. Only positions of stored events (or 0) are valid start
 * points: EventStoreDB cannot seek to an arbitrary log offset.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly client: EventStoreDBClient;
  /** host:port list without credentials, for error messages. */
  private readonly server: string;
  private readonly timeoutMs: number;
  private readonly subscriptions = new Set<EventStoreDbAllSubscription>();
  private closed = false;

  constructor(private readonly options: EventStoreDbEventStoreOptions) {
    this.timeoutMs = options.operationTimeoutMs ?? 10_000;
    this.server = describeServer(options.connectionString);
    // The client's own deadline bounds appends on the server side as well.
    this.client = EventStoreDBClient.connectionString(withDefaultDeadline(options.connectionString, this.timeoutMs));
  }

  append(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    return observeAppend('eventstoredb', stream, events.length, () => this.appendObserved(stream, events, options));
  }

  private async appendObserved(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    // Everything that can be refused locally (names, ids, schemas, JSON) is refused before any I/O.
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    return this.guard(`append to "${stream}"`, () => this.appendPrepared(stream, prepared, expected));
  }

  private async appendPrepared(stream: string, prepared: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      // For 'any' / 'stream_exists' the tail doubles as the place an earlier copy would be.
      const tail = await this.readStreamRaw(stream, { direction: 'backwards', maxCount: namesNoPlace(expected) ? prepared.length : 1 });
      const current: StreamRevision = tail.length ? tail[0].revision : 'no_stream';
      const replayed = await this.findIdempotent(stream, prepared, expected, current, tail);
      if (replayed) return replayed;
      checkExpectedRevision(stream, expected, current);
      const chained = chainEvents(stream, prepared, current, tail.length ? tail[0].metadata.hash : null);
      const outcome = await this.write(stream, chained, current);
      if (outcome.kind === 'written') return outcome.result;
      // Someone wrote in between. An exact expectation is re-judged on the next pass (it then
      // fails, or turns out to be an idempotent replay); a loose one is retried a few times.
      if (attempt >= MAX_APPEND_ATTEMPTS) throw new WrongExpectedRevisionError(stream, expected, outcome.actual);
      if (namesNoPlace(expected)) await backOff(attempt);
    }
  }

  /**
   * Idempotency as EventStoreDB defines it, per stream: the same ids already stored at the place
   * this append asks for mean it already happened. EventStoreDB only recognises that itself when
   * the expected revision is behind the stream, and this adapter always sends the current one,
   * so the check is made here. 'any' and 'stream_exists' name no place: an earlier copy is
   * recognised while it is still the stream's tail. Ids are not indexed across streams, so an id
   * stored in another stream cannot be detected (unlike the PostgreSQL adapter).
   */
  private async findIdempotent(stream: string, prepared: PreparedEvent[], expected: ExpectedRevision, current: StreamRevision, tail: RecordedEvent[]): Promise<AppendResult | null> {
    if (current === 'no_stream') return null;
    const window = namesNoPlace(expected) ? tail : await this.eventsAfterExpected(stream, expected, current, prepared.length);
    const ids = new Set(prepared.map((e) => e.id));
    const stored = window.filter((e) => ids.has(e.id));
    const match = matchIdempotentAppend(stream, prepared, stored, expected);
    if (match === 'none') return null;
    if (match === 'partial') throw new DuplicateEventIdError(stored[0].id, stream);
    const newest = stored.reduce((a, b) => (a.revision > b.revision ? a : b));
    return { nextExpectedRevision: newest.revision, position: newest.position };
  }

  /** The events right after an exact or no_stream expectation: where an earlier copy of the append would sit. */
  private async eventsAfterExpected(stream: string, expected: 'no_stream' | number, current: number, count: number): Promise<RecordedEvent[]> {
    const first = expected === 'no_stream' ? 0 : expected + 1;
    if (first > current) return [];
    return this.readStreamRaw(stream, { fromRevision: first, maxCount: count });
  }

  private async write(stream: string, chained: ChainedEvent[], current: StreamRevision): Promise<AppendOutcome> {
    const expectedRevision = current === 'no_stream' ? NO_STREAM : BigInt(current);
    try {
      const result = await this.timed(this.client.appendToStream(stream, chained.map(toEventData), { expectedRevision }), `append to "${stream}"`);
      // Only reached with throwOnAppendFailure=false in the connection string.
      if (!result.success) return { kind: 'conflict', actual: toStreamRevision(result.nextExpectedRevision) };
      const last = chained[chained.length - 1];
      // The server reports the commit position of the last event of the append, also when it
      // judged the append a replay of one that raced this one; servers that report none for a
      // replay leave the stored event to say where it is.
      const position = result.position ? toSafeNumber(result.position.commit, 'position') : await this.positionOf(stream, last.revision);
      return { kind: 'written', result: { nextExpectedRevision: toSafeNumber(result.nextExpectedRevision, 'revision'), position } };
    } catch (error) {
      if (hasType(error, ErrorType.WRONG_EXPECTED_VERSION)) return { kind: 'conflict', actual: toStreamRevision((error as { actualVersion?: bigint | 'no_stream' }).actualVersion) };
      throw error;
    }
  }

  private async positionOf(stream: string, revision: number): Promise<number> {
    const [event] = await this.readStreamRaw(stream, { fromRevision: revision, maxCount: 1 });
    if (!event) throw new Error(`EventStoreDB reported an append to "${stream}" at revision ${revision}, but no event is stored there`);
    return event.position;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const events = await this.guard(`read stream "${stream}"`, () => this.readStreamRaw(stream, options));
    return events.map((e) => this.upcast(e));
  }

  /** Events as stored (not upcast): what the hash chain was computed over. */
  private async readStreamRaw(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const maxCount = options.maxCount === undefined ? undefined : Math.floor(options.maxCount);
    if (maxCount !== undefined && maxCount <= 0) return [];
    if (backwards && options.fromRevision !== undefined && options.fromRevision < 0) return [];
    const fromRevision = options.fromRevision === undefined ? (backwards ? END : START) : BigInt(Math.max(0, Math.floor(options.fromRevision)));
    const read = this.client.readStream(stream, { direction: backwards ? BACKWARDS : FORWARDS, fromRevision, ...(maxCount === undefined ? {} : { maxCount }) });
    try {
      const resolved = await this.drain(read, `read stream "${stream}"`);
      return resolved.flatMap((r) => (r.event ? [toRecorded(r.event)] : []));
    } catch (error) {
      if (hasType(error, ErrorType.STREAM_NOT_FOUND)) return [];
      throw error;
    }
  }

  async streamRevision(stream: string): Promise<StreamRevision> {
    const [last] = await this.guard(`read stream "${stream}"`, () => this.readStreamRaw(stream, { direction: 'backwards', maxCount: 1 }));
    return last ? last.revision : 'no_stream';
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const from = options.fromPosition ?? 0;
    const to = options.toPosition ?? Number.MAX_SAFE_INTEGER;
    const limit = options.limit ?? 1000;
    if (limit <= 0 || to < from) return [];
    return this.guard('read $all', async () => {
      const out: RecordedEvent[] = [];
      const pageSize = Math.min(READ_ALL_PAGE, limit + 32);
      let cursor: Position | typeof START = from > 0 ? positionAt(from) : START;
      let seen: Position | undefined;
      for (;;) {
        const page = await this.drain(this.client.readAll({ fromPosition: cursor, maxCount: pageSize, direction: FORWARDS }), 'read $all');
        for (const { event } of page) {
          // Pages start inclusively at the last event of the previous page.
          if (!event || (seen && !isAfter(event.position, seen))) continue;
          seen = event.position;
          if (toSafeNumber(event.position.commit, 'position') > to) return out;
          if (isSystemEvent(event)) continue;
          out.push(this.upcast(toRecorded(event)));
          if (out.length >= limit) return out;
        }
        if (page.length < pageSize || !seen) return out;
        cursor = seen;
      }
    });
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    if (this.closed) throw new Error('event store is closed');
    const subscription: EventStoreDbAllSubscription = new EventStoreDbAllSubscription(options.fromPosition ?? 0, {
      open: (from) => this.client.subscribeToAll({ fromPosition: from, filter: excludeSystemEvents() }),
      head: () => this.headPosition(),
      present: (event) => (isSystemEvent(event) ? null : this.upcast(toRecorded(event))),
      translate: (error) => this.translate(error, 'subscribe to $all'),
      onClose: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async verifyStream(stream: string): Promise<VerifyResult> {
    return verifyChain(stream, await this.guard(`read stream "${stream}"`, () => this.readStreamRaw(stream)));
  }

  /** Position of the newest non-system event: $all also holds the server's own events, which no reader of this port ever sees. */
  async headPosition(): Promise<number> {
    return this.guard('read the head of $all', async () => {
      let cursor: Position | typeof END = END;
      let seen: Position | undefined;
      for (let pageSize = HEAD_SCAN_FIRST_PAGE; ; pageSize = Math.min(pageSize * 4, HEAD_SCAN_MAX_PAGE)) {
        const page = await this.drain(this.client.readAll({ fromPosition: cursor, maxCount: pageSize, direction: BACKWARDS }), 'read the head of $all');
        for (const { event } of page) {
          // Backwards pages end before their start position; the check keeps that an assumption-free detail.
          if (!event || (seen && !isAfter(seen, event.position))) continue;
          seen = event.position;
          if (!isSystemEvent(event)) return toSafeNumber(event.position.commit, 'position');
        }
        if (page.length < pageSize || !seen) return 0;
        cursor = seen;
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.client.dispose();
  }

  private upcast(event: RecordedEvent): RecordedEvent {
    return this.options.catalog ? this.options.catalog.upcast(event) : event;
  }

  private async guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.translate(error, what);
    }
  }

  /**
   * The client reports an unreachable server two ways: its own UnavailableError (reads) and a
   * bare gRPC error with code 14 and no `type` (appends). Both, and a missed deadline, become the
   * platform's UnavailableError, which callers treat as "retry later".
   */
  private translate(error: unknown, what: string): unknown {
    if (error instanceof ModelTrailError) return error;
    if (isUnreachable(error)) return new UnavailableError(`EventStoreDB at ${this.server} is unavailable (${what}): ${messageOf(error)}`, { server: this.server });
    return error;
  }

  private unanswered(what: string): UnavailableError {
    return new UnavailableError(`EventStoreDB at ${this.server} did not answer within ${this.timeoutMs} ms (${what})`, { server: this.server });
  }

  /** Bounds a call that cannot be cancelled. An append that lands after its timeout is recognised as a replay when retried with the same ids. */
  private async timed<T>(operation: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unanswered(what)), this.timeoutMs);
    });
    try {
      return await Promise.race([operation, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Collects a finite read; cancels it when the server goes quiet for longer than the timeout. */
  private drain<E>(read: StreamingRead<E>, what: string): Promise<E[]> {
    return new Promise<E[]>((resolve, reject) => {
      const items: E[] = [];
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        read.removeAllListeners('data');
        // A late error after settling must not crash the process as an unhandled 'error' event.
        read.on('error', () => undefined);
        settle();
      };
      const timer = setTimeout(() => {
        finish(() => reject(this.unanswered(what)));
        void read.cancel().catch(() => undefined);
      }, this.timeoutMs);
      read.on('data', (item: E) => {
        items.push(item);
        timer.refresh();
      });
      read.once('end', () => finish(() => resolve(items)));
      read.once('error', (error) => finish(() => reject(error)));
    });
  }
}

interface SubscriptionSource {
  /** Starts the server-side catch-up subscription, exclusive of `from`. */
  open(from: Position | typeof START): AllStreamSubscription;
  head(): Promise<number>;
  /** The event as the port delivers it, or null to skip it. */
  present(event: AllStreamRecordedEvent): RecordedEvent | null;
  translate(error: unknown): unknown;
  onClose(): void;
}

const CLOSED = Symbol('closed');
/** Events per batch when the caller names no size: about one page of the server's catch-up reads. */
const SUBSCRIPTION_BATCH = 512;

/**
 * EventStoreDB's catch-up subscription (it reads history, then switches to live by itself),
 * filtered on the server to non-system event types. `caughtUp` resolves once the newest
 * non-system event that existed when iteration began has been delivered; that position is read
 * before the subscription starts, so nothing committed earlier can be missed.
 *
 * Batches: the client buffers what the server streams (and keeps streaming while the caller
 * works); a batch is the first event to arrive plus whatever is already buffered behind it.
 */
class EventStoreDbAllSubscription implements AllSubscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (error: unknown) => void;
  private readonly closing: Promise<typeof CLOSED>;
  private signalClosing!: () => void;
  private closed = false;
  private started = false;
  private source: AllStreamSubscription | undefined;

  constructor(
    private readonly fromPosition: number,
    private readonly deps: SubscriptionSource,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // A caller that never awaits caughtUp must not see an unhandled rejection.
    this.caughtUp.catch(() => undefined);
    this.closing = new Promise((resolve) => {
      this.signalClosing = () => resolve(CLOSED);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return eachEvent(this.batches(), () => this.closed);
  }

  batches(options: SubscriptionBatchOptions = {}): AsyncGenerator<RecordedEvent[]> {
    if (this.started) throw new Error('a subscription can be iterated only once');
    this.started = true;
    return this.run(Math.max(1, Math.floor(options.maxSize ?? SUBSCRIPTION_BATCH)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signalClosing();
    this.stopSource();
    this.deps.onClose();
  }

  private async *run(maxSize: number): AsyncGenerator<RecordedEvent[]> {
    try {
      const head = await this.untilClosed(this.deps.head());
      if (head === CLOSED) return;
      if (head <= this.fromPosition) this.resolveCaughtUp();
      let last = positionAt(this.fromPosition);
      const source = this.deps.open(this.fromPosition > 0 ? last : START);
      this.source = source;
      const iterator = source[Symbol.asyncIterator]();
      while (!this.closed) {
        const batch: RecordedEvent[] = [];
        let reachedHead = false;
        // Waits for the first event only; then takes what the stream already holds, up to maxSize.
        do {
          const next = await this.untilClosed(iterator.next());
          if (next === CLOSED) return;
          if (next.done) throw new UnavailableError('EventStoreDB ended the subscription to $all');
          const recorded = next.value.event;
          // The server starts after fromPosition already; the check keeps delivery exactly-once regardless.
          if (!recorded || !isAfter(recorded.position, last)) continue;
          last = recorded.position;
          const event = this.deps.present(recorded);
          if (event) batch.push(event);
          if (recorded.position.commit >= BigInt(head)) reachedHead = true;
        } while (batch.length < maxSize && !this.closed && (batch.length === 0 || source.readableLength > 0));
        if (batch.length > 0) yield batch;
        if (reachedHead) this.resolveCaughtUp();
      }
    } catch (error) {
      const translated = this.deps.translate(error);
      this.rejectCaughtUp(translated);
      throw translated;
    } finally {
      this.resolveCaughtUp();
      this.closed = true;
      this.signalClosing();
      this.stopSource();
      this.deps.onClose();
    }
  }

  private untilClosed<T>(pending: Promise<T>): Promise<T | typeof CLOSED> {
    return Promise.race([pending, this.closing]);
  }

  /** Cancels the gRPC call (asynchronously, as the client does it) and ends the local stream at once. */
  private stopSource(): void {
    const source = this.source;
    this.source = undefined;
    if (!source) return;
    void source.unsubscribe().catch(() => undefined);
    source.destroy();
  }
}

function namesNoPlace(expected: ExpectedRevision): expected is 'any' | 'stream_exists' {
  return expected === 'any' || expected === 'stream_exists';
}

/** Metadata under the port's names, plus EventStoreDB's own `$correlationId` / `$causationId`, which its projections and UI understand. */
function toEventData(event: ChainedEvent): EventData {
  const metadata: Record<string, unknown> = {
    ...metadataOf(event),
    $correlationId: event.correlationId,
    ...(event.causationId === null ? {} : { $causationId: event.causationId }),
  };
  // prepareEvents made data a plain JSON value; the client sends it through JSON.stringify.
  return jsonEvent({ id: event.id, type: event.type, data: event.data as JSONType, metadata });
}

/**
 * Reads an event whoever wrote it: events from other writers on a shared server may lack this
 * adapter's metadata, and then get neutral defaults (and an empty hash, which verifyStream reports).
 */
function toRecorded(event: EsdbRecordedEvent): RecordedEvent {
  const meta: Record<string, unknown> = isRecord(event.metadata) ? event.metadata : {};
  const id = event.id.toLowerCase();
  return {
    id,
    stream: event.streamId,
    revision: toSafeNumber(event.revision, 'revision'),
    position: eventPosition(event),
    type: event.type,
    data: event.data,
    metadata: {
      actor: text(meta.actor) ?? SYSTEM_ACTOR,
      correlationId: text(meta.correlationId) ?? text(meta.$correlationId) ?? id,
      causationId: text(meta.causationId) ?? text(meta.$causationId) ?? null,
      occurredAt: text(meta.occurredAt) ?? event.created.toISOString(),
      prevHash: text(meta.prevHash) ?? '',
      hash: text(meta.hash) ?? '',
    },
  };
}

function eventPosition(event: EsdbRecordedEvent): number {
  const commit = event.position?.commit;
  if (commit === undefined || commit <= 0n || commit === NO_POSITION) {
    throw new Error(`EventStoreDB gave no $all position for event ${event.id} of "${event.streamId}"; stream reads carry positions from EventStoreDB 22.6 on`);
  }
  return toSafeNumber(commit, 'position');
}

/** The server's own events: statistics, projections, settings, stream metadata, links. */
function isSystemEvent(event: { streamId: string; type: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/**
 * An event's position as a read/subscribe start. Commit and prepare positions of an event
 * appended outside an explicit transaction are equal, so the pair is rebuilt from one number.
 */
function positionAt(position: number): Position {
  const p = BigInt(Math.floor(position));
  return { commit: p, prepare: p };
}

/** $all order: by commit position, then prepare position (events of one explicit transaction share a commit). */
function isAfter(a: Position, b: Position): boolean {
  return a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`EventStoreDB ${what} ${value} does not fit a JavaScript number`);
  return Number(value);
}

function toStreamRevision(value: bigint | 'no_stream' | undefined): StreamRevision {
  return value === undefined || value === 'no_stream' || value < 0n ? 'no_stream' : toSafeNumber(value, 'revision');
}

function hasType(error: unknown, type: ErrorType): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: unknown }).type === type;
}

/** gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), typed by the client or not; a leader change and a server-side cancel are retryable too. */
function isUnreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { type, code } = error as { type?: unknown; code?: unknown };
  if (type === ErrorType.UNAVAILABLE || type === ErrorType.DEADLINE_EXCEEDED || type === ErrorType.NOT_LEADER || type === ErrorType.CANCELLED) return true;
  return type === undefined && (code === 14 || code === 4);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `host:port[,host:port]` of a connection string, without credentials or options: safe for messages. */
function describeServer(connectionString: string): string {
  const match = /^[a-z+]+:\/\/(?:[^@/?]*@)?([^/?]+)/i.exec(connectionString.trim());
  return match ? match[1] : 'the configured address';
}

/** Adds `defaultDeadline` unless the connection string sets one (the client reads option names case- and dash-insensitively). */
function withDefaultDeadline(connectionString: string, timeoutMs: number): string {
  if (/[?&]default[-_]?deadline=/i.test(connectionString)) return connectionString;
  return `${connectionString}${connectionString.includes('?') ? '&' : '?'}defaultDeadline=${timeoutMs}`;
}

/** Spreads retries of loose appends on a hot stream so that racing writers do not collide in lockstep. */
function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
}
