import type { TableSpec } from '@modeltrail/readmodel';

/**
 * The lineage graph's tables (kept by `lineageGraphProjection`, rebuildable from the store).
 * Positions are the store's global positions; a node or edge holds from `createdPosition`
 * until `endedPosition` (null: it still holds). An edge that ends and later holds again (an
 * alias moved back to a version) keeps every holding in `intervals`.
 */

export interface LineageNodeRow {
  id: string;
  kind: string;
  name: string | null;
  projectId: string | null;
  attributes: Record<string, unknown>;
  /** The node's first appearance: its creation, or the first edge that named it. */
  createdPosition: number;
  createdAt: Date;
  createdBy: string;
  createdEventId: string;
  /** The event that declared it (null while it is only named by an edge). */
  definedPosition: number | null;
  endedPosition: number | null;
  endedAt: Date | null;
  endReason: string | null;
}

export const lineageNodesTable: TableSpec<LineageNodeRow, 'id'> = {
  name: 'lineage_nodes',
  key: ['id'],
  columns: {
    id: 'text',
    kind: 'text',
    name: 'text',
    projectId: 'text',
    attributes: 'jsonb',
    createdPosition: 'bigint',
    createdAt: 'timestamptz',
    createdBy: 'text',
    createdEventId: 'uuid',
    definedPosition: 'bigint',
    endedPosition: 'bigint',
    endedAt: 'timestamptz',
    endReason: 'text',
  },
};

/** One holding of an edge: [from position, to position or null]. */
export type EdgeInterval = [number, number | null];

export interface LineageEdgeRow {
  fromId: string;
  type: string;
  toId: string;
  attributes: Record<string, unknown>;
  createdPosition: number;
  createdAt: Date;
  createdBy: string;
  createdEventId: string;
  endedPosition: number | null;
  endedAt: Date | null;
  endedEventId: string | null;
  /** Every holding, when there was more than one; null otherwise (the common case). */
  intervals: EdgeInterval[] | null;
}

export const lineageEdgesTable: TableSpec<LineageEdgeRow, 'fromId' | 'type' | 'toId'> = {
  name: 'lineage_edges',
  key: ['fromId', 'type', 'toId'],
  columns: {
    fromId: 'text',
    type: 'text',
    toId: 'text',
    attributes: 'jsonb',
    createdPosition: 'bigint',
    createdAt: 'timestamptz',
    createdBy: 'text',
    createdEventId: 'uuid',
    endedPosition: 'bigint',
    endedAt: 'timestamptz',
    endedEventId: 'uuid',
    intervals: 'jsonb',
  },
};

/** One event about one node (its subject): the timelines and causal explanations read these. */
export interface LineageEventRow {
  nodeId: string;
  position: number;
  eventId: string;
  type: string;
  stream: string;
  revision: number;
  occurredAt: Date;
  actor: string;
  correlationId: string;
  causationId: string | null;
}

export const lineageEventsTable: TableSpec<LineageEventRow, 'nodeId' | 'position'> = {
  name: 'lineage_events',
  key: ['nodeId', 'position'],
  columns: {
    nodeId: 'text',
    position: 'bigint',
    eventId: 'uuid',
    type: 'text',
    stream: 'text',
    revision: 'bigint',
    occurredAt: 'timestamptz',
    actor: 'text',
    correlationId: 'text',
    causationId: 'uuid',
  },
};
