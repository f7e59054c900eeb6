import type { Pool, PoolClient } from 'pg';
import { CompactRange, EMPTY_ROOT, foldRightToLeft, type NodeId, nodeKey, type PerfectNode, perfectNodesOf } from '@modeltrail/merkle';
import { ident } from '@modeltrail/postgres';

type Db = Pool | PoolClient;

export interface LogLeaf {
  leafIndex: number;
  position: number;
  eventId: string;
  stream: string;
  revision: number;
  occurredAt: Date;
  leafHash: Buffer;
}

export interface StoredCheckpoint {
  treeSize: number;
  root: Buffer;
  madeAt: Date;
  /** The signed note (c2sp.org/tlog-checkpoint). */
  note: string;
  keyName: string;
}

/**
 * The Merkle log's tables: leaves (one per event of the store, in position order), every
 * perfect subtree above them, the log's state row, and the signed checkpoints.
 */
export class MerkleLogTables {
  readonly s: string;

  constructor(
    readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async state(db: Db = this.pool): Promise<{ size: number; position: number }> {
    const { rows } = await db.query<{ size: string; position: string }>(`SELECT size, position FROM ${this.s}.log_state WHERE id = 1`);
    return { size: Number(rows[0].size), position: Number(rows[0].position) };
  }

  /** The state row, locked until the transaction ends: one writer at a time. */
  async lockState(client: PoolClient): Promise<{ size: number; position: number }> {
    const { rows } = await client.query<{ size: string; position: string }>(`SELECT size, position FROM ${this.s}.log_state WHERE id = 1 FOR UPDATE`);
    return { size: Number(rows[0].size), position: Number(rows[0].position) };
  }

  /** The compact range of the stored tree of `size` leaves (its frontier read back from the nodes). */
  async range(size: number, db: Db = this.pool): Promise<CompactRange> {
    if (size === 0) return new CompactRange();
    const ids = perfectNodesOf(0, size);
    const hashes = await this.nodes(ids, db);
    return CompactRange.fromFrontier(
      size,
      ids.map((id) => hashes.get(nodeKey(id.level, id.index))!),
    );
  }

  /** Hashes of perfect nodes (level 0: leaves), by nodeKey; throws naming a node that is not stored. */
  async nodes(ids: ReadonlyArray<NodeId>, db: Db = this.pool): Promise<Map<string, Buffer>> {
    const leaves = ids.filter((id) => id.level === 0).map((id) => id.index);
    const inner = ids.filter((id) => id.level > 0);
    const { rows } = await db.query<{ level: number; idx: string; hash: Buffer }>(
      `SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM ${this.s}.log_leaves WHERE leaf_index = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM ${this.s}.log_nodes n JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx`,
      [leaves, inner.map((id) => id.level), inner.map((id) => id.index)],
    );
    const found = new Map(rows.map((r) => [nodeKey(r.level, Number(r.idx)), r.hash]));
    for (const id of ids) if (!found.has(nodeKey(id.level, id.index))) throw new Error(`the log has no node (level ${id.level}, index ${id.index})`);
    return found;
  }

  /** The root of the tree of the first `size` leaves, from the stored nodes. */
  async rootAt(size: number, db: Db = this.pool): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    const ids = perfectNodesOf(0, size);
    const hashes = await this.nodes(ids, db);
    return foldRightToLeft(ids.map((id) => hashes.get(nodeKey(id.level, id.index))!));
  }

  /** Appends leaves and the perfect nodes they complete, and moves the state, in the caller's transaction. */
  async append(client: PoolClient, leaves: ReadonlyArray<LogLeaf>, nodes: ReadonlyArray<PerfectNode>, state: { size: number; position: number }): Promise<void> {
    if (leaves.length > 0) {
      await client.query(
        `INSERT INTO ${this.s}.log_leaves (leaf_index, position, event_id, stream, revision, occurred_at, leaf_hash)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[], $6::timestamptz[], $7::bytea[])`,
        [
          leaves.map((l) => l.leafIndex),
          leaves.map((l) => l.position),
          leaves.map((l) => l.eventId),
          leaves.map((l) => l.stream),
          leaves.map((l) => l.revision),
          leaves.map((l) => l.occurredAt.toISOString()),
          leaves.map((l) => l.leafHash),
        ],
      );
    }
    const inner = nodes.filter((n) => n.level > 0);
    if (inner.length > 0) {
      await client.query(`INSERT INTO ${this.s}.log_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [
        inner.map((n) => n.level),
        inner.map((n) => n.index),
        inner.map((n) => n.hash),
      ]);
    }
    await client.query(`UPDATE ${this.s}.log_state SET size = $1, position = $2 WHERE id = 1`, [state.size, state.position]);
  }

  async leafOfEvent(eventId: string): Promise<LogLeaf | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_leaves WHERE event_id = $1`, [eventId]);
    return rows[0] ? toLeaf(rows[0]) : null;
  }

  async leavesOfEvents(eventIds: ReadonlyArray<string>): Promise<LogLeaf[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_leaves WHERE event_id = ANY($1::uuid[]) ORDER BY leaf_index`, [eventIds]);
    return rows.map(toLeaf);
  }

  /** Leaves in index order from `fromIndex`, at most `limit`. */
  async leaves(fromIndex: number, limit: number): Promise<LogLeaf[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2`, [fromIndex, limit]);
    return rows.map(toLeaf);
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<StoredCheckpoint> {
    const { rows } = await this.pool.query(
      `INSERT INTO ${this.s}.log_checkpoints (tree_size, root, made_at, note, key_name) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tree_size) DO UPDATE SET tree_size = EXCLUDED.tree_size RETURNING *`,
      [checkpoint.treeSize, checkpoint.root, checkpoint.madeAt.toISOString(), checkpoint.note, checkpoint.keyName],
    );
    // A checkpoint of that size was already published (by another replica): that one stands.
    return toCheckpoint(rows[0]);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_checkpoints ORDER BY tree_size DESC LIMIT 1`);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  async checkpointOfSize(treeSize: number): Promise<StoredCheckpoint | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_checkpoints WHERE tree_size = $1`, [treeSize]);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  /** Newest first, below `beforeSize` when given. */
  async checkpoints(beforeSize: number | null, limit: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.log_checkpoints WHERE ($1::bigint IS NULL OR tree_size < $1) ORDER BY tree_size DESC LIMIT $2`, [beforeSize, limit]);
    return rows.map(toCheckpoint);
  }
}

function toLeaf(r: Record<string, unknown>): LogLeaf {
  return {
    leafIndex: Number(r.leaf_index),
    position: Number(r.position),
    eventId: r.event_id as string,
    stream: r.stream as string,
    revision: Number(r.revision),
    occurredAt: r.occurred_at as Date,
    leafHash: r.leaf_hash as Buffer,
  };
}

function toCheckpoint(r: Record<string, unknown>): StoredCheckpoint {
  return { treeSize: Number(r.tree_size), root: r.root as Buffer, madeAt: r.made_at as Date, note: r.note as string, keyName: r.key_name as string };
}
