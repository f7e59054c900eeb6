import { createHash } from 'node:crypto';
import type { AppendResult, EventStore, ExpectedRevision, RecordedEvent, StreamHead, StreamRevision } from '@modeltrail/eventstore';
import { WrongExpectedRevisionError } from '@modeltrail/eventstore';
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
}

/**
 * The command loop: read the stream, fold it with `evolve`, `decide`, append with the revision
 * that was read. A conflict means someone else wrote in between: read again and re-decide,
 * a bounded number of times, then let the conflict surface.
 */
export class CommandHandler<Command, Event extends DomainEvent, State> {
  private readonly maxAttempts: number;

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<Command, Event, State>,
    options: CommandHandlerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  async load(stream: string): Promise<{ state: State; revision: StreamRevision }> {
    const { state, revision } = await this.loadWithIds(stream);
    return { state, revision };
  }

  private async loadWithIds(stream: string): Promise<{ state: State; revision: StreamRevision; head: StreamHead; positions: Map<string, number> }> {
    const events = await this.store.readStream(stream);
    let state = this.decider.initialState();
    for (const event of events) state = this.decider.evolve(state, { type: event.type, data: event.data } as Event);
    const last = events.length ? events[events.length - 1] : undefined;
    return {
      state,
      revision: last ? last.revision : 'no_stream',
      // What the append chains from, so that the store need not read the head again.
      head: last ? { revision: last.revision, hash: last.metadata.hash } : { revision: 'no_stream', hash: null },
      positions: new Map(events.map((e) => [e.id, e.position])),
    };
  }

  async handle(stream: string, command: Command, context: CommandContext): Promise<HandleResult<State>> {
    for (let attempt = 1; ; attempt++) {
      const { state, revision, head, positions } = await this.loadWithIds(stream);
      // A command whose events are already in the stream was handled before (a retry or a
      // redelivery, perhaps after others wrote): deciding it again could undo their work.
      // Its position is returned so that the caller can still wait for read models.
      const earlier = context.commandId ? positions.get(deterministicEventId(context.commandId, stream, 0)) : undefined;
      if (earlier !== undefined) return { state, events: [], revision, position: earlier };
      const decided = this.decider.decide(command, state);
      if (decided.length === 0) return { state, events: [], revision };
      const expectedRevision: ExpectedRevision = revision === 'no_stream' ? 'no_stream' : revision;
      let appended: AppendResult;
      try {
        appended = await this.store.append(
          stream,
          decided.map((event, index) => ({
            id: context.commandId ? deterministicEventId(context.commandId, stream, index) : undefined,
            type: event.type,
            data: event.data,
            metadata: { actor: context.actor, correlationId: context.correlationId, causationId: context.causationId ?? null },
          })),
          { expectedRevision, head },
        );
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < this.maxAttempts) continue;
        throw error;
      }
      const nextState = decided.reduce((s, e) => this.decider.evolve(s, e), state);
      // Exactly this call's events: others may have appended after them already.
      const events = appended.recorded ?? (await this.store.readStream(stream, { fromRevision: appended.nextExpectedRevision - decided.length + 1, maxCount: decided.length }));
      return { state: nextState, events, revision: appended.nextExpectedRevision, position: appended.position };
    }
  }
}

/** A UUID (v8 layout) derived from the command id, stream and index: stable across retries. */
export function deterministicEventId(commandId: string, stream: string, index: number): string {
  const hex = createHash('sha256').update(`${commandId}\u0000${stream}\u0000${index}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
