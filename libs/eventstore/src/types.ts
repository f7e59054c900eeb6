/**
 * The event store port (docs/architecture.md: Event store). Every adapter — PostgreSQL, EventStoreDB, in-memory —
 * implements `EventStore` and passes the one contract suite in `libs/eventstore/test`.
 *
 * Numbering: a stream's first event has revision 0; global positions are positive, increase in
 * the order readers of the whole store see events (a reader never sees a position lower than
 * one it has already seen), and are not contiguous (0 means "before the first event").
 */

/** `no_stream`: the stream must not exist; `stream_exists`: it must; `any`: no check; a number: the revision of its last event. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | number;

/** The revision a stream is at, or `no_stream`. */
export type StreamRevision = number | 'no_stream';

export interface EventMetadataInput {
  actor?: string;
  correlationId?: string;
  causationId?: string | null;
  /** ISO-8601; defaults to the time of the append. */
  occurredAt?: string;
}

export interface NewEvent<TType extends string = string, TData = unknown> {
  /** UUID. Re-appending the same ids at the same place is a no-op (idempotent retries). */
  id?: string;
  type: TType;
  data: TData;
  metadata?: EventMetadataInput;
}

export interface EventMetadata {
  actor: string;
  correlationId: string;
  causationId: string | null;
  occurredAt: string;
  /** Hash of the previous event in the same stream, or GENESIS_HASH for revision 0. */
  prevHash: string;
  /** SHA-256 over the canonical event and prevHash (see hashing.ts). */
  hash: string;
}

export interface RecordedEvent<TType extends string = string, TData = unknown> {
  id: string;
  stream: string;
  revision: number;
  position: number;
  type: TType;
  data: TData;
  metadata: EventMetadata;
}

/** A stream's last event as the caller read it: its revision and hash (`null` for no stream). */
export interface StreamHead {
  revision: StreamRevision;
  hash: string | null;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
  /**
   * The head the caller read (the command loop has just read the stream to decide). A store
   * may chain the new events from it instead of reading the head again; a stale head costs a
   * retry inside the store, never a wrong chain or a wrong expectation check.
   */
  head?: StreamHead;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  nextExpectedRevision: number;
  /** Global position of the last event appended (or found, for an idempotent re-append). */
  position: number;
  /**
   * The events exactly as this append stored them, when the store has them at hand (absent for
   * an idempotent re-append, and on stores that would need another read to know them).
   */
  recorded?: RecordedEvent[];
}

export interface ReadStreamOptions {
  fromRevision?: number;
  maxCount?: number;
  direction?: 'forwards' | 'backwards';
}

export interface ReadAllOptions {
  /** Inclusive. Defaults to the beginning. */
  fromPosition?: number;
  /** Inclusive. */
  toPosition?: number;
  /** At most this many events (default 1000). */
  limit?: number;
}

export interface SubscribeToAllOptions {
  /** Exclusive: deliver events after this position (a checkpoint). 0 or absent: from the start. */
  fromPosition?: number;
}

export interface SubscriptionBatchOptions {
  /** At most this many events per batch (default: the adapter's page size). */
  maxSize?: number;
}

/**
 * Catch-up then live subscription, in global order, without gaps or duplicates. It is iterated
 * once: event by event (`for await (const event of subscription)`), or in batches (`batches()`).
 */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  /** Resolves once every event committed before the call to subscribe has been delivered. */
  readonly caughtUp: Promise<void>;
  /**
   * The same events in batches of at most `maxSize`, never empty. While catching up, a batch is
   * a whole page read from the store (adapters read the next page while the caller handles
   * this one); once live, a batch is whatever has arrived, delivered without waiting for more.
   */
  batches(options?: SubscriptionBatchOptions): AsyncIterable<RecordedEvent[]>;
  /** Stops the subscription; a pending iteration ends. */
  close(): Promise<void>;
}

export interface HashChainBreak {
  stream: string;
  revision: number;
  eventId: string;
  /** `tail_mismatch`: the stream's recorded head (revision and hash) is not its last stored event — history was cut off. */
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'revision_gap' | 'tail_mismatch';
  expected: string;
  actual: string;
}

export interface VerifyResult {
  stream: string;
  ok: boolean;
  eventsChecked: number;
  /** Revision of the last event checked, or `no_stream`. */
  lastRevision: StreamRevision;
  breaks: HashChainBreak[];
}

export interface EventStore {
  readonly kind: 'postgres' | 'eventstoredb' | 'memory';
  append(stream: string, events: ReadonlyArray<NewEvent>, options?: AppendOptions): Promise<AppendResult>;
  /** Events of one stream, oldest first (or newest first with `direction: 'backwards'`); empty if it does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The stream's current revision, or `no_stream`. */
  streamRevision(stream: string): Promise<StreamRevision>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription;
  /** Recomputes the stream's hash chain from what is stored and reports every break. */
  verifyStream(stream: string): Promise<VerifyResult>;
  /** Position of the newest committed event, 0 when the store is empty. */
  headPosition(): Promise<number>;
  close(): Promise<void>;
}
