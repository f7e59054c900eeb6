import { Args, Context, Field, Float, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { ENTITY_STREAM_PREFIXES, type EntityStreamPrefix, NotFoundError, streamId } from '@modeltrail/contracts';
import type { EventStore, HashChainBreak, RecordedEvent, VerifyResult } from '@modeltrail/eventstore';
import { parseId } from '../common/ids';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import type { GatewayContext } from '../context/gateway-context';
import { Needs } from '../access/policy';

@ObjectType({ description: 'One stored event of an entity.' })
export class HistoryEvent {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Stored event type: <context>.<EventName>.v<N>.' })
  type!: string;

  @Field(() => Int, { description: "Position within the entity's stream, from 0." })
  revision!: number;

  @Field(() => Float, { description: 'Position in the global order of all events.' })
  position!: number;

  @Field(() => DateTimeScalar)
  occurredAt!: string;

  @Field({ description: 'Who caused it.' })
  actor!: string;

  @Field({ description: 'The flow it belongs to.' })
  correlationId!: string;

  @Field(() => String, { nullable: true, description: 'The event that caused it, when another event did.' })
  causationId!: string | null;

  @Field(() => JSONScalar)
  data!: unknown;
}

@ObjectType({ description: "The result of recomputing the stream's hash chain from what is stored." })
export class StreamVerification {
  @Field({ description: 'No event was altered, removed or reordered.' })
  valid!: boolean;

  @Field(() => Int)
  checkedEvents!: number;

  @Field(() => String, { nullable: true, description: 'What is wrong, when not valid.' })
  problem!: string | null;
}

@ObjectType({ description: 'Every event of one entity, in order, and whether its stored history is intact.' })
export class History {
  @Field(() => ID)
  entityId!: string;

  @Field({ description: 'The event stream: <aggregate>-<id>.' })
  stream!: string;

  @Field({ description: 'dataset, dataset-version, project, experiment or run.' })
  aggregate!: string;

  @Field(() => [HistoryEvent])
  events!: HistoryEvent[];

  @Field(() => StreamVerification)
  verification!: StreamVerification;
}

@Resolver(() => History)
export class HistoryResolver {
  @Needs('VIEWER', ['entity', 'entityId'])
  @Query(() => History, { description: 'The history of any entity by its id (NOT_FOUND when no stream has that id).' })
  async history(@Args('entityId', { type: () => ID }) entityId: string, @Context() ctx: GatewayContext): Promise<History> {
    const id = parseId(entityId, 'entityId');
    const aggregate = await findAggregate(ctx.store, id);
    const stream = streamId(aggregate, id);
    const [events, verification] = await Promise.all([ctx.store.readStream(stream), ctx.store.verifyStream(stream)]);
    return { entityId: id, stream, aggregate, events: events.map(toHistoryEvent), verification: toVerification(verification) };
  }
}

/** The aggregates with a stream of this id, in ENTITY_STREAM_PREFIXES order (every prefix is looked up at once). */
export async function aggregatesOf(store: EventStore, id: string): Promise<EntityStreamPrefix[]> {
  const revisions = await Promise.all(ENTITY_STREAM_PREFIXES.map((prefix) => store.streamRevision(streamId(prefix, id))));
  return ENTITY_STREAM_PREFIXES.filter((_, index) => revisions[index] !== 'no_stream');
}

/** The first aggregate whose stream holds `id`. */
async function findAggregate(store: EventStore, id: string): Promise<string> {
  const [aggregate] = await aggregatesOf(store, id);
  if (aggregate === undefined) throw new NotFoundError(`no entity has the id ${id} (looked for ${ENTITY_STREAM_PREFIXES.map((p) => `${p}-`).join(', ')} streams)`, { entityId: id });
  return aggregate;
}

function toHistoryEvent(event: RecordedEvent): HistoryEvent {
  return {
    id: event.id,
    type: event.type,
    revision: event.revision,
    position: event.position,
    occurredAt: event.metadata.occurredAt,
    actor: event.metadata.actor,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    data: event.data,
  };
}

function toVerification(result: VerifyResult): StreamVerification {
  return { valid: result.ok, checkedEvents: result.eventsChecked, problem: result.ok ? null : result.breaks.map(describeBreak).join('; ') || 'the hash chain does not verify' };
}

function describeBreak(problem: HashChainBreak): string {
  switch (problem.reason) {
    case 'hash_mismatch':
      return `event ${problem.revision} (${problem.eventId}) was altered: its content no longer matches its hash`;
    case 'prev_hash_mismatch':
      return `event ${problem.revision} (${problem.eventId}) does not follow the event stored before it`;
    case 'revision_gap':
      return `events are missing before revision ${problem.revision} (expected ${problem.expected}, found ${problem.actual})`;
    case 'tail_mismatch':
      return `history was cut off after revision ${problem.revision}: the stream's recorded head is ${problem.expected}, the last stored event ${problem.actual}`;
    default: {
      const unknownReason: never = problem.reason;
      return `hash chain break (${String(unknownReason)}) at revision ${problem.revision}`;
    }
  }
}
