import type { RecordedEvent } from '@modeltrail/eventstore';
import type { Projection, TableProjection } from '@modeltrail/readmodel';
import { type EdgeFact, type LineageFacts, lineageFacts, LINEAGE_EVENT_TYPES, type NodeFact, type NodeKind } from './lineage.facts';
import { type EdgeInterval, type LineageEdgeRow, lineageEdgesTable, type LineageEventRow, lineageEventsTable, type LineageNodeRow, lineageNodesTable } from './lineage.tables';

/**
 * The lineage graph as a set-based projection (libs/readmodel): every table's `keyOf` and
 * `evolve` read only the event's facts (`lineageFacts`) and the row, so a rebuild gives the
 * same graph, position for position.
 */

/** An event's facts, indexed for the many keys a batch folds it into. */
interface IndexedFacts {
  facts: LineageFacts;
  declared: Map<string, NodeFact>;
  /** Every node an edge of the event names, with its kind. */
  referenced: Map<string, NodeKind>;
  ended: Map<string, string>;
  drawn: Map<string, EdgeFact>;
  endedEdges: Set<string>;
}

const edgeId = (fromId: string, type: string, toId: string): string => `${fromId}\u0000${type}\u0000${toId}`;

// The facts of an event are asked for by every table and every key: derive and index them once.
const factsCache = new WeakMap<RecordedEvent, IndexedFacts>();
function factsOf(event: RecordedEvent): IndexedFacts {
  let indexed = factsCache.get(event);
  if (!indexed) {
    const facts = lineageFacts(event);
    const referenced = new Map<string, NodeKind>();
    const drawn = new Map<string, EdgeFact>();
    for (const e of facts.edges) {
      referenced.set(e.from.id, e.from.kind);
      referenced.set(e.to.id, e.to.kind);
      if (!drawn.has(edgeId(e.from.id, e.type, e.to.id))) drawn.set(edgeId(e.from.id, e.type, e.to.id), e);
    }
    indexed = {
      facts,
      declared: new Map(facts.nodes.map((n) => [n.id, n])),
      referenced,
      ended: new Map(facts.endsNodes.map((n) => [n.id, n.reason])),
      drawn,
      endedEdges: new Set(facts.ends.map((e) => edgeId(e.fromId, e.type, e.toId))),
    };
    factsCache.set(event, indexed);
  }
  return indexed;
}

const at = (event: RecordedEvent): Date => new Date(event.metadata.occurredAt);

/** A node after one event (pure): created on first appearance, filled in when declared, ended. */
export function evolveNode(row: LineageNodeRow | undefined, event: RecordedEvent, key: { id: string }): LineageNodeRow | undefined {
  const facts = factsOf(event);
  const declared = facts.declared.get(key.id);
  let next = row;
  if (declared) {
    if (!next) {
      next = newNode(event, key.id, declared.kind);
    }
    if (next.definedPosition === null) {
      next = { ...next, kind: declared.kind, name: declared.name, projectId: declared.projectId, attributes: declared.attributes, definedPosition: event.position };
    }
  } else if (!next) {
    const kind = facts.referenced.get(key.id);
    if (!kind) return undefined; // ended or touched before it appeared: nothing to record
    next = newNode(event, key.id, kind);
  }
  const ended = facts.ended.get(key.id);
  if (ended !== undefined && next.endedPosition === null) next = { ...next, endedPosition: event.position, endedAt: at(event), endReason: ended };
  return next;
}

function newNode(event: RecordedEvent, id: string, kind: NodeKind): LineageNodeRow {
  return {
    id,
    kind,
    name: kind === 'actor' ? id.slice('actor:'.length) : null,
    projectId: null,
    attributes: {},
    createdPosition: event.position,
    createdAt: at(event),
    createdBy: event.metadata.actor,
    createdEventId: event.id,
    definedPosition: null,
    endedPosition: null,
    endedAt: null,
    endReason: null,
  };
}

type EdgeKeyRow = Pick<LineageEdgeRow, 'fromId' | 'type' | 'toId'>;

/** An edge after one event (pure): drawn, ended, or drawn again (a new holding in `intervals`). */
export function evolveEdge(row: LineageEdgeRow | undefined, event: RecordedEvent, key: EdgeKeyRow): LineageEdgeRow | undefined {
  const facts = factsOf(event);
  const id = edgeId(key.fromId, key.type, key.toId);
  let next = row;
  // An event ends the old holding before it draws the new one (an alias leaving a version).
  if (next && next.endedPosition === null && facts.endedEdges.has(id)) {
    const intervals = next.intervals ? next.intervals.map((i, n, all): EdgeInterval => (n === all.length - 1 ? [i[0], event.position] : i)) : null;
    next = { ...next, endedPosition: event.position, endedAt: at(event), endedEventId: event.id, intervals };
  }
  const drawn = facts.drawn.get(id);
  if (drawn) {
    if (!next) {
      next = {
        ...key,
        attributes: drawn.attributes,
        createdPosition: event.position,
        createdAt: at(event),
        createdBy: event.metadata.actor,
        createdEventId: event.id,
        endedPosition: null,
        endedAt: null,
        endedEventId: null,
        intervals: null,
      };
    } else if (next.endedPosition !== null) {
      const intervals: EdgeInterval[] = [...(next.intervals ?? [[next.createdPosition, next.endedPosition]]), [event.position, null]];
      next = { ...next, endedPosition: null, endedAt: null, endedEventId: null, intervals };
    }
  }
  return next;
}

/** The event's row in the timeline of a node it is about (insert-only). */
export function evolveNodeEvent(row: LineageEventRow | undefined, event: RecordedEvent, key: { nodeId: string; position: number }): LineageEventRow {
  if (row) return row;
  return {
    nodeId: key.nodeId,
    position: event.position,
    eventId: event.id,
    type: event.type,
    stream: event.stream,
    revision: event.revision,
    occurredAt: at(event),
    actor: event.metadata.actor,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
  };
}

function nodeKeys(event: RecordedEvent): Array<{ id: string }> {
  const { declared, referenced, ended } = factsOf(event);
  const ids = new Set<string>([...declared.keys(), ...referenced.keys(), ...ended.keys()]);
  return [...ids].map((id) => ({ id }));
}

function edgeKeys(event: RecordedEvent): EdgeKeyRow[] {
  const { facts, drawn } = factsOf(event);
  const keys = new Map<string, EdgeKeyRow>();
  for (const e of facts.ends) keys.set(edgeId(e.fromId, e.type, e.toId), e);
  for (const [id, e] of drawn) keys.set(id, { fromId: e.from.id, type: e.type, toId: e.to.id });
  return [...keys.values()];
}

export const LINEAGE_GRAPH_PROJECTION = 'lineage.graph.v1';

export const lineageGraphProjection: Projection = {
  name: LINEAGE_GRAPH_PROJECTION,
  handles: LINEAGE_EVENT_TYPES,
  tables: [
    { table: lineageNodesTable, keyOf: nodeKeys, evolve: evolveNode } satisfies TableProjection<RecordedEvent, LineageNodeRow, 'id'>,
    { table: lineageEdgesTable, keyOf: edgeKeys, evolve: evolveEdge } satisfies TableProjection<RecordedEvent, LineageEdgeRow, 'fromId' | 'type' | 'toId'>,
    {
      table: lineageEventsTable,
      keyOf: (event) => factsOf(event).facts.subjects.map((nodeId) => ({ nodeId, position: event.position })),
      evolve: evolveNodeEvent,
      appendOnly: true,
    } satisfies TableProjection<RecordedEvent, LineageEventRow, 'nodeId' | 'position'>,
  ],
};
