import { createHash, randomUUID } from 'node:crypto';
import type { AppendResult, EventStore, ExpectedRevision, RecordedEvent, StreamHead, StreamRevision } from '@modeltrail/eventstore';
import { StreamCache, WrongExpectedRevisionError } from '@modeltrail/eventstore';
import type { MessageHeaders } from '@modeltrail/contracts';
import type { Decider, DomainEvent } from './decider';

/** Who issued a command and in which flow; becomes the metadata of every event it produces. */
export interface CommandContext {
  actor: string;
  correlationId: string;
  causationId?: string | null;
  /**
   * Idempotency key of the command. When present, event ids are derived from it, so a retried
   * delivery of the same command re-appends the same ids and the store recognises the repeat.
   */
  commandId?: string;
}

/** The metadata a command carried across NATS, as the context of the command it carries. */
export function commandContextOf(headers: MessageHeaders): CommandContext {
  return { actor: headers.actor, correlationId: headers.correlationId, causationId: headers.causationId ?? null, commandId: headers.commandId };
}

export interface HandleResult<State> {
  state: State;
  /** Events this call appended; empty when the command had nothing (more) to do. */
  events: RecordedEvent[];
  revision: StreamRevision;
  position?: number;
}

export interface CommandHandlerOptions {
  /** Attempts on a concurrency conflict before it reaches the caller (default 3). */
  maxAttempts?: number;
  /** Streams whose folded state is kept between commands (default 1,000; 0 keeps none). */
  cachedStreams?: number;
}

/** A stream folded up to `revision`, with the ids (and positions) of its events. */
interface Folded<State> {
  state: State;
  revision: StreamRevision;
  head: StreamHead;
  positions: Map<string, number>;
}

/**
 * The command loop: fold the stream with `evolve`, `decide`, append with the revision that was
 * folded. A conflict means someone else wrote in between: catch up and re-decide, a bounded
 * number of times, then let the conflict surface.
 *
 * The folded state of recently used streams is kept, so a command usually costs one round trip
 * (the append) instead of reading and folding the whole stream first. A kept state may be
 * stale (another replica wrote): the append's expected revision catches that for every command
 * that appends, and a command that would append nothing or is refused is decided again on the
 * events read since, before that answer is given; a command with an id (a possible retry) reads
 * what came after the kept state first. So answers never rest on a stale state.
 */
export class CommandHandler<Command, Event extends DomainEvent, State> {
  private readonly maxAttempts: number;
  private readonly folded: StreamCache<Folded<State>>;
  /** The last command queued per stream: commands to one stream in this process run one after another. */
  private readonly queued = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<Command, Event, State>,
    options: CommandHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.folded = new StreamCache(options.cachedStreams ?? 1_000);
  }

  /**
   * The stream's current state: what the store holds after the kept state (if any) folded onto
   * it, so a long stream (a run with its params and artifacts) is not read whole on every call.
   * Streams only grow, so the kept prefix plus what follows it is the whole stream.
   */
  async load(stream: string): Promise<{ state: State; revision: StreamRevision }> {
    const { state, revision } = await this.catchUp(stream, this.folded.get(stream));
    return { state, revision };
  }

  /** Folds the events after `from` (or the whole stream) onto its state, and keeps the result. */
  private async catchUp(stream: string, from: Folded<State> | undefined): Promise<Folded<State>> {
    const events = await this.store.readStream(stream, from && from.revision !== 'no_stream' ? { fromRevision: from.revision + 1 } : {});
    let state = from?.state ?? this.decider.initialState();
    for (const event of events) state = this.decider.evolve(state, { type: event.type, data: event.data } as Event);
    const last = events[events.length - 1];
    // Ids only ever join a stream, so a kept map may grow in place.
    const positions = from?.positions ?? new Map<string, number>();
    for (const event of events) positions.set(event.id, event.position);
    const folded: Folded<State> = last
      ? { state, revision: last.revision, head: { revision: last.revision, hash: last.metadata.hash }, positions }
      : (from ?? { state, revision: 'no_stream', head: { revision: 'no_stream', hash: null }, positions });
    this.folded.set(stream, folded);
    return folded;
  }

  /**
   * Handles a command on its stream. Commands to the same stream in this process run one after
   * another: racing them would only make all but one append fail and decide again, and a client
   * logging params and artifacts of one run at once (16 in flight) saw CONFLICT after three
   * attempts. Streams are independent; replicas still race, and the expected revision settles it.
   */
  handle(stream: string, command: Command, context: CommandContext): Promise<HandleResult<State>> {
    const before = this.queued.get(stream);
    const result = before ? before.then(() => this.handleNow(stream, command, context)) : this.handleNow(stream, command, context);
    // Settles with the command, whatever its outcome, and forgets the stream if nothing queued after it.
    const release = () => {
      if (this.queued.get(stream) === done) this.queued.delete(stream);
    };
    const done: Promise<void> = result.then(release, release);
    this.queued.set(stream, done);
    return result;
  }

  private async handleNow(stream: string, command: Command, context: CommandContext): Promise<HandleResult<State>> {
    let known = this.folded.get(stream);
    // Whether `known` was read from the store for this command (else it may be stale).
    let fresh = known === undefined;
    known ??= await this.catchUp(stream, undefined);
    // A retried command may have been handled by another replica since: its events would be
    // past the kept state, so read what came after it (usually nothing) before deciding.
    if (!fresh && context.commandId) {
      known = await this.catchUp(stream, known);
      fresh = true;
    }
    for (let attempt = 1; ; ) {
      const { state, revision, head, positions } = known;
      // A command whose events are already in the stream was handled before (a retry or a
      // redelivery, perhaps after others wrote): deciding it again could undo their work.
      // Its position is returned so that the caller can still wait for read models.
      const earlier = context.commandId ? positions.get(deterministicEventId(context.commandId, stream, 0)) : undefined;
      if (earlier !== undefined) return { state, events: [], revision, position: earlier };
      let decided: Event[];
      try {
        decided = this.decider.decide(command, state);
      } catch (error) {
        if (fresh) throw error;
        known = await this.catchUp(stream, known);
        fresh = true;
        continue;
      }
      if (decided.length === 0) {
        if (fresh) return { state, events: [], revision };
        known = await this.catchUp(stream, known);
        fresh = true;
        continue;
      }
      const expectedRevision: ExpectedRevision = revision === 'no_stream' ? 'no_stream' : revision;
      let appended: AppendResult;
      try {
        appended = await this.store.append(stream, newEvents(decided, stream, context), { expectedRevision, head });
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        this.folded.delete(stream);
        // A kept state that turned out stale is no attempt of the caller's.
        if (fresh && attempt++ >= this.maxAttempts) throw error;
        known = await this.catchUp(stream, known);
        fresh = true;
        continue;
      }
      const nextState = decided.reduce((s, e) => this.decider.evolve(s, e), state);
      // Exactly this call's events: others may have appended after them already.
      const events = appended.recorded ?? (await this.store.readStream(stream, { fromRevision: appended.nextExpectedRevision - decided.length + 1, maxCount: decided.length }));
      if (appended.recorded) {
        const last = events[events.length - 1];
        for (const event of events) positions.set(event.id, event.position);
        this.folded.set(stream, { state: nextState, revision: last.revision, head: { revision: last.revision, hash: last.metadata.hash }, positions });
      } else {
        // An idempotent repeat found by the store: what else the stream holds is not known here.
        this.folded.delete(stream);
      }
      return { state: nextState, events, revision: appended.nextExpectedRevision, position: appended.position };
    }
  }
}

/**
 * The events of one decision as the store appends them. Ids come from the command id when there
 * is one (a retry appends the same ids); an event caused by an earlier one of the same decision
 * (`causedBy`) needs that event's id before the append, so the decision's ids are then drawn here.
 */
function newEvents(decided: ReadonlyArray<DomainEvent>, stream: string, context: CommandContext) {
  const chained = decided.some((event) => event.causedBy !== undefined);
  const ids = decided.map((_, index) => (context.commandId ? deterministicEventId(context.commandId, stream, index) : chained ? randomUUID() : undefined));
  return decided.map((event, index) => {
    let causationId = context.causationId ?? null;
    if (event.causedBy !== undefined) {
      if (!Number.isInteger(event.causedBy) || event.causedBy < 0 || event.causedBy >= index) {
        throw new Error(`event ${index} (${event.type}) names event ${event.causedBy} as its cause: it must be an earlier event of the same decision`);
      }
      causationId = ids[event.causedBy]!;
    }
    return { id: ids[index], type: event.type, data: event.data, metadata: { actor: context.actor, correlationId: context.correlationId, causationId } };
  });
}

/** A UUID (v8 layout) derived from the command id, stream and index: stable across retries. */
export function deterministicEventId(commandId: string, stream: string, index: number): string {
  const hex = createHash('sha256').update(`${commandId}\u0000${stream}\u0000${index}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
