import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { NotFoundError, ValidationError } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { rowDecoder } from '@modeltrail/readmodel';
import { type LineageEdgeRow, lineageEdgesTable, type LineageEventRow, lineageEventsTable, type LineageNodeRow, lineageNodesTable } from './lineage.tables';

export type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

/** One edge as a walk found it: its key (a page reads the whole rows of its own edges). */
export interface WalkEdge {
  fromId: string;
  type: string;
  toId: string;
  /** The walk that followed it. */
  walk: 'UPSTREAM' | 'DOWNSTREAM';
}

/** Where a node sits in a traversal: its distance from the root and the walk that reached it first. */
export interface Placed {
  id: string;
  depth: number;
  direction: 'ROOT' | 'UPSTREAM' | 'DOWNSTREAM';
}

/**
 * Everything a lineage query reaches from its root as of one position, ordered for paging:
 * nodes by (depth, id); each edge goes with the page of the later of its two nodes, so a page
 * never holds an edge to a node not yet delivered. A traversal as of a position never changes
 * (the graph at a past position is fixed), so it is cached and its pages are one snapshot.
 */
export interface Traversal {
  position: number;
  nodes: Placed[];
  /** Edges, in the order of the node that places them (see above). */
  edges: Array<{ edge: WalkEdge; order: number }>;
}

export interface TraversalQuery {
  rootId: string;
  direction: Direction;
  /** null: no limit. */
  depth: number | null;
  position: number;
}

const decodeNode = rowDecoder(lineageNodesTable);
const decodeEdge = rowDecoder(lineageEdgesTable);
const decodeEvent = rowDecoder(lineageEventsTable);

/** Reads the lineage graph's tables: walks, node details, timelines, explanations. */
export class LineageReader {
  private readonly s: string;
  private readonly cache = new Map<string, Traversal>();
  /** Nodes and edges held by the cached walks (the cache's memory, roughly 200 bytes each). */
  private cachedItems = 0;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly cacheSize = 64,
    /** Nodes plus edges the cached walks may hold in all; the least recently used go first. */
    private readonly cacheItems = 2_000_000,
  ) {
    this.s = ident(schema);
  }

  /** The SQL condition "edge e holds at position $n". */
  private holds(e: string, param: string): string {
    return `(${e}.created_position <= ${param} AND CASE WHEN ${e}.intervals IS NULL THEN (${e}.ended_position IS NULL OR ${e}.ended_position > ${param}) ELSE ${this.s}.lineage_holds_at(${e}.intervals, ${param}) END)`;
  }

  /** The last position whose event happened at or before `time` (0: before the first event). */
  async positionAtTime(time: Date): Promise<number> {
    const { rows } = await this.pool.query<{ p: string | null }>(`SELECT max(position) AS p FROM ${this.s}.lineage_events WHERE occurred_at <= $1`, [time.toISOString()]);
    return rows[0].p === null ? 0 : Number(rows[0].p);
  }

  /** The node as it was at `position` (null: it did not exist yet). */
  async node(id: string, position: number): Promise<LineageNodeRow | null> {
    const [node] = await this.nodes([id], position);
    return node ?? null;
  }

  /** Nodes as they were at `position`, in the order asked; ids that did not exist yet are left out. */
  async nodes(ids: ReadonlyArray<string>, position: number): Promise<LineageNodeRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.lineage_nodes WHERE id = ANY($1::text[]) AND created_position <= $2`, [ids, position]);
    const byId = new Map(rows.map((raw) => [raw.id as string, asOfNode(decodeNode(raw), position)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** The walk from a node as of a position, from the cache when it was taken before. */
  async traverse(query: TraversalQuery): Promise<Traversal> {
    const key = `${query.rootId}\u0000${query.direction}\u0000${query.depth ?? '*'}\u0000${query.position}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const edges: WalkEdge[] = [];
    if (query.direction !== 'DOWNSTREAM') edges.push(...(await this.walk(query, 'UPSTREAM')));
    if (query.direction !== 'UPSTREAM') edges.push(...(await this.walk(query, 'DOWNSTREAM')));
    const traversal = placeAll(query, edges);
    this.cache.set(key, traversal);
    this.cachedItems += sizeOf(traversal);
    while (this.cache.size > 1 && (this.cache.size > this.cacheSize || this.cachedItems > this.cacheItems)) {
      const [oldest, evicted] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.cachedItems -= sizeOf(evicted);
    }
    return traversal;
  }

  /**
   * Every edge a walk crosses, in one recursive query. Without a depth limit the walk keeps one
   * row per node (UNION drops a node seen before), so it ends on any graph and costs one index
   * probe per node; with a limit it keeps (node, depth) pairs up to that depth. Depths are then
   * assigned in memory by a breadth-first pass over the edges found. The edges of the reached
   * nodes are read by `= ANY (ARRAY(...))`, an index probe per node: as a join with the CTE
   * (whose size the planner cannot know) PostgreSQL chose a scan of every edge per walk.
   */
  private async walk(query: TraversalQuery, walk: 'UPSTREAM' | 'DOWNSTREAM'): Promise<WalkEdge[]> {
    const [near, far] = walk === 'UPSTREAM' ? ['to_id', 'from_id'] : ['from_id', 'to_id'];
    const holds = this.holds('e', '$2');
    const sql =
      query.depth === null
        ? `WITH RECURSIVE reached(id) AS (
             SELECT $1::text
             UNION
             SELECT e.${far} FROM reached r JOIN ${this.s}.lineage_edges e ON e.${near} = r.id WHERE ${holds}
           )
           SELECT e.from_id, e.type, e.to_id FROM ${this.s}.lineage_edges e WHERE e.${near} = ANY (ARRAY(SELECT id FROM reached)) AND ${holds}`
        : `WITH RECURSIVE reached(id, depth) AS (
             SELECT $1::text, 0
             UNION
             SELECT e.${far}, r.depth + 1 FROM reached r JOIN ${this.s}.lineage_edges e ON e.${near} = r.id WHERE r.depth < $3 AND ${holds}
           )
           SELECT e.from_id, e.type, e.to_id FROM ${this.s}.lineage_edges e WHERE e.${near} = ANY (ARRAY(SELECT DISTINCT id FROM reached WHERE depth < $3)) AND ${holds}`;
    const params = query.depth === null ? [query.rootId, query.position] : [query.rootId, query.position, query.depth];
    // Only the keys: a walk of 10,000 nodes crosses ~20,000 edges, and decoding their whole rows
    // (attributes, times) cost more than the walk itself; a page reads its own (edgeRows).
    const { rows } = await this.pool.query<{ from_id: string; type: string; to_id: string }>(sql, params);
    return rows.map((r) => ({ fromId: r.from_id, type: r.type, toId: r.to_id, walk }));
  }

  /** The whole rows of the given edges, as they stood at `position`. */
  async edgeRows(keys: ReadonlyArray<Pick<LineageEdgeRow, 'fromId' | 'type' | 'toId'>>, position: number): Promise<Map<string, LineageEdgeRow>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query(
      `SELECT e.* FROM ${this.s}.lineage_edges e JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(from_id, type, to_id)
         ON e.from_id = k.from_id AND e.type = k.type AND e.to_id = k.to_id`,
      [keys.map((k) => k.fromId), keys.map((k) => k.type), keys.map((k) => k.toId)],
    );
    return new Map(rows.map((raw) => {
      const row = asOfEdge(decodeEdge(raw), position);
      return [edgeKeyOf(row), row];
    }));
  }

  /**
   * What happened to a node and its neighbours, oldest first: every event about the node, and
   * every event about a node it has an edge with (an event that drew an edge is about one of
   * its ends). People are not followed as neighbours: theirs would be every decision they made.
   */
  async timeline(id: string, position: number, afterPosition: number, limit: number): Promise<LineageEventRow[]> {
    const { rows } = await this.pool.query(
      `WITH neighbours AS (
         SELECT e.from_id AS id FROM ${this.s}.lineage_edges e WHERE e.to_id = $1 AND e.created_position <= $2
         UNION SELECT e.to_id FROM ${this.s}.lineage_edges e WHERE e.from_id = $1 AND e.created_position <= $2
       )
       SELECT DISTINCT ON (ev.position) ev.* FROM (
         SELECT * FROM ${this.s}.lineage_events WHERE node_id = $1 AND position > $3 AND position <= $2
         UNION ALL
         SELECT ev.* FROM ${this.s}.lineage_events ev JOIN neighbours n ON ev.node_id = n.id
         WHERE n.id NOT LIKE 'actor:%' AND ev.position > $3 AND ev.position <= $2
       ) ev
       ORDER BY ev.position, (ev.node_id = $1) DESC
       LIMIT $4`,
      [id, position, afterPosition, limit],
    );
    return rows.map(decodeEvent);
  }

  /** The edges of the given types out of (`from`) or into (`to`) the given nodes, holding at `position`. */
  async edgesAt(ids: ReadonlyArray<string>, types: ReadonlyArray<string>, side: 'from' | 'to', position: number): Promise<LineageEdgeRow[]> {
    if (ids.length === 0) return [];
    const column = side === 'from' ? 'from_id' : 'to_id';
    const { rows } = await this.pool.query(`SELECT e.* FROM ${this.s}.lineage_edges e WHERE e.${column} = ANY($1::text[]) AND e.type = ANY($2::text[]) AND ${this.holds('e', '$3')}`, [ids, types, position]);
    return rows.map((raw) => asOfEdge(decodeEdge(raw), position));
  }

  /** Events about any of `nodeIds` up to `position`, one row per event, oldest first. */
  async eventsAbout(nodeIds: ReadonlyArray<string>, position: number): Promise<LineageEventRow[]> {
    const { rows } = await this.pool.query(
      `SELECT DISTINCT ON (position) * FROM ${this.s}.lineage_events WHERE node_id = ANY($1::text[]) AND position <= $2 ORDER BY position, node_id`,
      [nodeIds, position],
    );
    return rows.map(decodeEvent);
  }

}

const sizeOf = (t: Traversal): number => t.nodes.length + t.edges.length;

/** An edge's identity, as the maps of a page key it. */
export const edgeKeyOf = (e: Pick<LineageEdgeRow, 'fromId' | 'type' | 'toId'>): string => `${e.fromId}\u0000${e.type}\u0000${e.toId}`;

/** A node row as it stood at `position`: an end after it has not happened yet, nor a later declaration. */
export function asOfNode(row: LineageNodeRow, position: number): LineageNodeRow {
  let node = row;
  if (node.definedPosition !== null && node.definedPosition > position) node = { ...node, name: node.kind === 'actor' ? node.name : null, projectId: null, attributes: {}, definedPosition: null };
  if (node.endedPosition !== null && node.endedPosition > position) node = { ...node, endedPosition: null, endedAt: null, endReason: null };
  return node;
}

/** An edge row as it stood at `position`: the holding in force then, without later ends. */
export function asOfEdge(row: LineageEdgeRow, position: number): LineageEdgeRow {
  if (row.intervals) {
    const holding = row.intervals.find(([from, to]) => from <= position && (to === null || to > position));
    if (holding && holding[1] === null && row.endedPosition === null) return row;
    return { ...row, endedPosition: null, endedAt: null, endedEventId: null };
  }
  if (row.endedPosition !== null && row.endedPosition > position) return { ...row, endedPosition: null, endedAt: null, endedEventId: null };
  return row;
}

/**
 * Depths by breadth-first search over the edges the walks found (each walk follows its own
 * edges in its own direction), nodes ordered by (depth, id), each edge placed with the later
 * of its two nodes.
 */
export function placeAll(query: TraversalQuery, edges: WalkEdge[]): Traversal {
  const depth = new Map<string, Placed>([[query.rootId, { id: query.rootId, depth: 0, direction: 'ROOT' }]]);
  for (const walk of ['UPSTREAM', 'DOWNSTREAM'] as const) {
    const next = new Map<string, string[]>();
    for (const e of edges) {
      if (e.walk !== walk) continue;
      const [near, far] = walk === 'UPSTREAM' ? [e.toId, e.fromId] : [e.fromId, e.toId];
      const list = next.get(near);
      if (list) list.push(far);
      else next.set(near, [far]);
    }
    const seen = new Map<string, number>([[query.rootId, 0]]);
    let frontier = [query.rootId];
    for (let d = 1; frontier.length > 0 && (query.depth === null || d <= query.depth); d++) {
      const following: string[] = [];
      for (const id of frontier) {
        for (const far of next.get(id) ?? []) {
          if (seen.has(far)) continue;
          seen.set(far, d);
          following.push(far);
          const placed = depth.get(far);
          if (!placed || placed.depth > d) depth.set(far, { id: far, depth: d, direction: walk });
        }
      }
      frontier = following;
    }
  }
  const nodes = [...depth.values()].sort((a, b) => a.depth - b.depth || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  const placedEdges: Traversal['edges'] = [];
  const seenEdges = new Set<string>();
  for (const edge of edges) {
    const a = order.get(edge.fromId);
    const b = order.get(edge.toId);
    if (a === undefined || b === undefined) continue; // beyond the depth limit
    const key = `${edge.fromId}\u0000${edge.type}\u0000${edge.toId}`;
    if (seenEdges.has(key)) continue;
    seenEdges.add(key);
    placedEdges.push({ edge, order: Math.max(a, b) });
  }
  placedEdges.sort((x, y) => x.order - y.order || cmp(x.edge.type, y.edge.type) || cmp(x.edge.fromId, y.edge.fromId) || cmp(x.edge.toId, y.edge.toId));
  return { position: query.position, nodes, edges: placedEdges };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Which walk a cursor belongs to: a cursor of one root, direction or depth is refused for another. */
export function walkFingerprint(query: Pick<TraversalQuery, 'rootId' | 'direction' | 'depth'>): string {
  return createHash('sha256').update(`${query.rootId}\u0000${query.direction}\u0000${query.depth ?? '*'}`).digest('hex').slice(0, 12);
}

/** A lineage page cursor: the snapshot's position, the index of the last node delivered, and the walk it belongs to. */
export function encodeLineageCursor(position: number, index: number, walk: string): string {
  return Buffer.from(`lineage:${position}:${index}:${walk}`, 'utf8').toString('base64url');
}

export function decodeLineageCursor(cursor: string, walk: string): { position: number; index: number } {
  const match = /^lineage:(\d{1,16}):(\d{1,9}):([0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  if (match[3] !== walk) throw new ValidationError(`cursor "${cursor}" belongs to another lineage query (another id, direction or depth)`, { field: 'after' });
  return { position: Number(match[1]), index: Number(match[2]) };
}

/** Refuses a root that did not exist at the position asked about. */
export function requireNode<T>(node: T | null, id: string, position: number): T {
  if (!node) throw new NotFoundError(`no lineage node "${id}" as of position ${position}`, { id, position });
  return node;
}
