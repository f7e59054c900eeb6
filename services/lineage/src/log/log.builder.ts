import { type EventStore, PositionWatch, type RecordedEvent, StoreFollower } from '@modeltrail/eventstore';
import type { CompactRange, PerfectNode } from '@modeltrail/merkle';
import { withTransaction } from '@modeltrail/postgres';
import { eventLeafHash } from './leaf';
import type { LogLeaf, MerkleLogTables } from './log.store';

export interface MerkleLogBuilderOptions {
  store: EventStore;
  tables: MerkleLogTables;
  /** Events per transaction at most (default 2,000). */
  batchSize?: number;
  retryDelayMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the event store and appends every event, in position order, as the next leaf of the
 * log's Merkle tree: its leaf hash and every perfect subtree it completes, in one transaction
 * per batch with the log's state row locked. Replicas take turns on that lock; events at or
 * below the stored position were logged by another replica and are skipped, and the tree in
 * memory is read back from the tables whenever another writer moved it.
 *
 * Unlike the graph, the log is not a projection to drop and rebuild: it is the record of what
 * the store held when it was seen, which later verification compares the store against.
 */
export class MerkleLogBuilder {
  private range: CompactRange | undefined;
  private readonly follower: StoreFollower;
  private readonly logged = new PositionWatch(() => 'the Merkle log');
  private treeSize = 0;

  constructor(private readonly options: MerkleLogBuilderOptions) {
    this.follower = new StoreFollower({
      store: options.store,
      from: () => this.logged.current,
      apply: (batch) => this.appendBatch(batch),
      batchSize: options.batchSize ?? 2_000,
      retryDelayMs: options.retryDelayMs,
      onError: (error) => {
        this.range = undefined; // read back from the tables before the next batch
        options.onError?.(error);
      },
    });
  }

  /** The store position up to which every event is a leaf. */
  get position(): number {
    return this.logged.current;
  }

  /** Leaves in the tree as this builder last wrote or read it. */
  get size(): number {
    return this.treeSize;
  }

  async start(): Promise<void> {
    if (this.follower.started) throw new Error('the Merkle log builder is already running');
    const state = await this.options.tables.state();
    this.range = await this.options.tables.range(state.size);
    this.treeSize = state.size;
    this.logged.set(state.position);
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
  }

  /** Resolves once every event up to `position` is a leaf. */
  waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    return this.logged.reach(position, timeoutMs);
  }

  private async appendBatch(batch: ReadonlyArray<RecordedEvent>): Promise<void> {
    const { tables } = this.options;
    const reached = await withTransaction(tables.pool, async (client) => {
      const state = await tables.lockState(client);
      if (!this.range || this.range.size !== state.size) this.range = await tables.range(state.size, client);
      const fresh = batch.filter((event) => event.position > state.position);
      if (fresh.length === 0) return state;
      const range = this.range;
      const leaves: LogLeaf[] = [];
      const nodes: PerfectNode[] = [];
      try {
        for (const event of fresh) {
          const hash = eventLeafHash(event);
          leaves.push({ leafIndex: range.size, position: event.position, eventId: event.id, stream: event.stream, revision: event.revision, occurredAt: new Date(event.metadata.occurredAt), leafHash: hash });
          nodes.push(...range.append(hash));
        }
        const next = { size: range.size, position: fresh[fresh.length - 1].position };
        await tables.append(client, leaves, nodes, next);
        return next;
      } catch (error) {
        this.range = undefined; // the range moved ahead of what was committed
        throw error;
      }
    });
    this.treeSize = reached.size;
    this.logged.set(Math.max(reached.position, this.logged.current));
  }
}
