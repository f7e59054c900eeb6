import type { RecordedEvent } from '@modeltrail/eventstore';
import type { Projection, TableProjection } from '@modeltrail/readmodel';
import { type LineageFacts, lineageFacts, LINEAGE_EVENT_TYPES, type NodeKind } from './lineage.facts';
import { type EdgeInterval, type LineageEdgeRow, lineageEdgesTable, type LineageEventRow, lineageEventsTable, type LineageNodeRow, lineageNodesTable } from './lineage.tables';

/**
 * The lineage graph as a set-based projection (libs/readmodel): every table's `keyOf` and
 * `evolve` read only the event's facts (`lineageFacts`) and the row, so a rebuild gives the
 * same graph, position for position.
 */

// The facts of an event are asked for by every table and every key: derive them once.
const factsCache = new WeakMap<RecordedEvent, LineageFacts>();
function factsOf(event: RecordedEvent): LineageFacts {
  let facts = factsCache.get(event);
  if (!facts) {
    facts = lineageFacts(event);
    factsCache.set(event, facts);
  }
  return facts;
}

const at = (event: RecordedEvent): Date => new Date(event.metadata.occurredAt);

/** A node after one event (pure): created on first appearance, filled in when declared, ended. */
export function evolveNode(row: LineageNodeRow | undefined, event: RecordedEvent, key: { id: string }): LineageNodeRow | undefined {
  const facts = factsOf(event);
  const declared = facts.nodes.find((n) => n.id === key.id);
  let next = row;
  if (declared) {
    if (!next) {
      next = newNode(event, key.id, declared.kind);
    }
    if (next.definedPosition === null) {
      next = { ...next, kind: declared.kind, name: declared.name, projectId: declared.projectId, attributes: declared.attributes, definedPosition: event.position };
    }
  } else if (!next) {
    const ref = facts.edges.flatMap((e) => [e.from, e.to]).find((r) => r.id === key.id);
    if (!ref) return undefined; // ended or touched before it appeared: nothing to record
    next = newNode(event, key.id, ref.kind);
  }
  const ended = facts.endsNodes.find((n) => n.id === key.id);
  if (ended && next.endedPosition === null) next = { ...next, endedPosition: event.position, endedAt: at(event), endReason: ended.reason };
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
const sameEdge = (a: { fromId: string; type: string; toId: string }, b: EdgeKeyRow): boolean => a.fromId === b.fromId && a.type === b.type && a.toId === b.toId;

/** An edge after one event (pure): drawn, ended, or drawn again (a new holding in `intervals`). */
export function evolveEdge(row: LineageEdgeRow | undefined, event: RecordedEvent, key: EdgeKeyRow): LineageEdgeRow | undefined {
  const facts = factsOf(event);
  let next = row;
  // An event ends the old holding before it draws the new one (an alias leaving a version).
  if (next && next.endedPosition === null && facts.ends.some((e) => sameEdge(e, key))) {
    const intervals = next.intervals ? next.intervals.map((i, n, all): EdgeInterval => (n === all.length - 1 ? [i[0], event.position] : i)) : null;
    next = { ...next, endedPosition: event.position, endedAt: at(event), endedEventId: event.id, intervals };
  }
  const drawn = facts.edges.find((e) => sameEdge({ fromId: e.from.id, type: e.type, toId: e.to.id }, key));
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
  const facts = factsOf(event);
  const ids = new Set<string>();
  for (const n of facts.nodes) ids.add(n.id);
  for (const e of facts.edges) {
    ids.add(e.from.id);
    ids.add(e.to.id);
  }
  for (const n of facts.endsNodes) ids.add(n.id);
  return [...ids].map((id) => ({ id }));
}

function edgeKeys(event: RecordedEvent): EdgeKeyRow[] {
  const facts = factsOf(event);
  const keys = new Map<string, EdgeKeyRow>();
  for (const e of facts.ends) keys.set(`${e.fromId}\u0000${e.type}\u0000${e.toId}`, e);
  for (const e of facts.edges) keys.set(`${e.from.id}\u0000${e.type}\u0000${e.to.id}`, { fromId: e.from.id, type: e.type, toId: e.to.id });
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
      keyOf: (event) => factsOf(event).subjects.map((nodeId) => ({ nodeId, position: event.position })),
      evolve: evolveNodeEvent,
    } satisfies TableProjection<RecordedEvent, LineageEventRow, 'nodeId' | 'position'>,
  ],
};
