import { NotFoundError, ValidationError } from '@modeltrail/contracts';
import type { EventStore, RecordedEvent } from '@modeltrail/eventstore';
import { CompactRange, consistencyProofPlan, foldRightToLeft, hashToHex, inclusionProofPlan, nodeKey, type NoteSigner, openCheckpoint, perfectNodesOf, signCheckpoint } from '@modeltrail/merkle';
import { eventLeafHash } from './leaf';
import type { MerkleLogBuilder } from './log.builder';
import type { LogLeaf, MerkleLogTables, StoredCheckpoint } from './log.store';

export interface CheckpointView {
  treeSize: number;
  rootHash: string;
  madeAt: string;
  /** The signed note: what an auditor keeps and verifies with the published key. */
  note: string;
  keyName: string;
}

export interface InclusionProofView {
  eventId: string;
  position: number;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  /** Sibling hashes from the leaf up (RFC 6962 §2.1.1). */
  proof: string[];
  rootHash: string;
  /** The signed checkpoint of `treeSize`, when one was published at that size. */
  checkpoint: CheckpointView | null;
}

export interface ConsistencyProofView {
  fromSize: number;
  toSize: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
  fromCheckpoint: CheckpointView | null;
  toCheckpoint: CheckpointView | null;
}

export type LogProblemKind = 'ALTERED' | 'MISSING' | 'INSERTED' | 'CHECKPOINT_MISMATCH' | 'CHECKPOINT_SIGNATURE';

export interface LogProblem {
  kind: LogProblemKind;
  /** Store position of the event concerned (null for a checkpoint problem). */
  position: number | null;
  leafIndex: number | null;
  eventId: string | null;
  detail: string;
}

export interface LogVerification {
  ok: boolean;
  treeSize: number;
  /** Store position the log had reached when the check began. */
  position: number;
  eventsChecked: number;
  checkpointsChecked: number;
  /** The first problems found, in position order (at most MAX_PROBLEMS). */
  problems: LogProblem[];
  problemCount: number;
  /** The first position where the store and the log disagree (null when they agree). */
  firstBadPosition: number | null;
}

const MAX_PROBLEMS = 100;
const PAGE = 2_000;

/**
 * The log that proves itself: signed checkpoints, inclusion and consistency proofs from the
 * stored tree, and a full check of the store against the log (events altered, deleted or
 * inserted after they were logged) and of the log against its own signed checkpoints.
 */
export class MerkleLogViews {
  private timer: NodeJS.Timeout | undefined;
  /** Roots and signed checkpoints by tree size (immutable once known), the most recent 1,024 of each. */
  private readonly roots = new Map<number, Buffer>();
  private readonly checkpointsBySize = new Map<number, StoredCheckpoint>();
  /** The largest tree size seen in the log's state: smaller sizes need no check. */
  private knownSize = 0;

  /** The root of the tree of `size` leaves (it never changes once the log has them). */
  private async rootOf(size: number): Promise<Buffer> {
    return this.roots.get(size) ?? this.remember(this.roots, size, await this.tables.rootAt(size));
  }

  /** The signed checkpoint of `size`, once one was published (null until then). */
  private async checkpointOfSize(size: number): Promise<StoredCheckpoint | null> {
    const known = this.checkpointsBySize.get(size);
    if (known) return known;
    const stored = await this.tables.checkpointOfSize(size);
    return stored ? this.remember(this.checkpointsBySize, size, stored) : null;
  }

  private remember<V>(map: Map<number, V>, size: number, value: V): V {
    map.delete(size);
    map.set(size, value);
    if (map.size > 1_024) map.delete(map.keys().next().value!);
    return value;
  }

  constructor(
    private readonly tables: MerkleLogTables,
    private readonly builder: Pick<MerkleLogBuilder, 'position' | 'waitFor'>,
    private readonly store: EventStore,
    private readonly signer: NoteSigner,
    private readonly origin: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The key an auditor verifies checkpoints with. */
  publicKey(): { keyName: string; publicKey: string; verifierKey: string; origin: string } {
    return { keyName: this.signer.keyName, publicKey: this.signer.publicKey.toString('base64'), verifierKey: this.signer.verifierKey, origin: this.origin };
  }

  /** Publishes a checkpoint every `intervalMs` while the log grows. */
  startPublishing(intervalMs: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => {
      this.publish(false).catch(onError);
    }, intervalMs);
    this.timer.unref();
  }

  stopPublishing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Signs and stores a checkpoint of the log as it stands. Without `force`, nothing new is made
   * when the latest checkpoint already covers every leaf (the latest is returned).
   */
  async publish(force = true): Promise<CheckpointView> {
    const latest = await this.tables.latestCheckpoint();
    const { size } = await this.tables.state();
    if (latest && latest.treeSize >= size && (!force || latest.treeSize === size)) return checkpointView(latest);
    const root = await this.tables.rootAt(size);
    const madeAt = this.now();
    const note = signCheckpoint({ origin: this.origin, size, root, time: madeAt }, this.signer);
    return checkpointView(await this.tables.saveCheckpoint({ treeSize: size, root, madeAt, note, keyName: this.signer.keyName }));
  }

  async latest(): Promise<CheckpointView | null> {
    const latest = await this.tables.latestCheckpoint();
    return latest ? checkpointView(latest) : null;
  }

  async checkpoints(beforeSize: number | null, limit: number): Promise<CheckpointView[]> {
    return (await this.tables.checkpoints(beforeSize, limit)).map(checkpointView);
  }

  /** The latest checkpoint, publishing one first when there is none yet. */
  async current(): Promise<CheckpointView> {
    return (await this.latest()) ?? this.publish();
  }

  async inclusionProof(eventId: string, treeSize: number | null): Promise<InclusionProofView> {
    let leaf = await this.tables.leafOfEvent(eventId);
    if (!leaf) {
      // Appended a moment ago? Wait for the log to reach the store's head once.
      const head = await this.store.headPosition();
      if (head > this.builder.position) {
        await this.builder.waitFor(head).catch(() => undefined);
        leaf = await this.tables.leafOfEvent(eventId);
      }
    }
    if (!leaf) throw new NotFoundError(`event ${eventId} is not in the log`, { eventId });
    const size = treeSize ?? (await this.current()).treeSize;
    await this.requireSize(size, 'treeSize');
    if (leaf.leafIndex >= size) {
      throw new ValidationError(`event ${eventId} is leaf ${leaf.leafIndex}: it is not in the tree of size ${size} (ask for a tree size of at least ${leaf.leafIndex + 1})`, { field: 'treeSize' });
    }
    return this.proofOf(leaf, size);
  }

  /** Inclusion proofs of many leaves in one tree, reading every node they need in one query. */
  async inclusionProofs(leaves: ReadonlyArray<LogLeaf>, treeSize: number): Promise<InclusionProofView[]> {
    const plans = leaves.map((leaf) => inclusionProofPlan(leaf.leafIndex, treeSize));
    // The proofs' nodes and the root's (the frontier of treeSize) in one read; a tree of a
    // given size never changes, so its root and checkpoint are kept once known.
    const frontier = this.roots.has(treeSize) ? [] : perfectNodesOf(0, treeSize);
    const hashes = await this.tables.nodes(dedupe([...plans.flatMap((p) => p.nodes), ...frontier]));
    const root = this.roots.get(treeSize) ?? this.remember(this.roots, treeSize, foldRightToLeft(frontier.map((n) => hashes.get(nodeKey(n.level, n.index))!)));
    const checkpoint = await this.checkpointOfSize(treeSize);
    return leaves.map((leaf, i) => ({
      eventId: leaf.eventId,
      position: leaf.position,
      leafIndex: leaf.leafIndex,
      treeSize,
      leafHash: hashToHex(leaf.leafHash),
      proof: plans[i].assemble(hashes).map(hashToHex),
      rootHash: hashToHex(root),
      checkpoint: checkpoint ? checkpointView(checkpoint) : null,
    }));
  }

  private async proofOf(leaf: LogLeaf, size: number): Promise<InclusionProofView> {
    const [proof] = await this.inclusionProofs([leaf], size);
    return proof;
  }

  async consistencyProof(fromSize: number, toSize: number): Promise<ConsistencyProofView> {
    if (fromSize < 1) throw new ValidationError(`fromSize must be at least 1 (every tree extends the empty one), got ${fromSize}`, { field: 'fromSize' });
    if (fromSize > toSize) throw new ValidationError(`fromSize ${fromSize} is larger than toSize ${toSize}: a log never shrinks`, { field: 'fromSize' });
    await this.requireSize(toSize, 'toSize');
    const plan = consistencyProofPlan(fromSize, toSize);
    const hashes = await this.tables.nodes(plan.nodes);
    const [fromRoot, toRoot, fromCheckpoint, toCheckpoint] = await Promise.all([this.rootOf(fromSize), this.rootOf(toSize), this.checkpointOfSize(fromSize), this.checkpointOfSize(toSize)]);
    return {
      fromSize,
      toSize,
      fromRoot: hashToHex(fromRoot),
      toRoot: hashToHex(toRoot),
      proof: plan.assemble(hashes).map(hashToHex),
      fromCheckpoint: fromCheckpoint ? checkpointView(fromCheckpoint) : null,
      toCheckpoint: toCheckpoint ? checkpointView(toCheckpoint) : null,
    };
  }

  private async requireSize(size: number, field: string): Promise<void> {
    if (size >= 1 && size <= this.knownSize) return; // the log never shrinks
    const { size: logSize } = await this.tables.state();
    this.knownSize = Math.max(this.knownSize, logSize);
    if (size > logSize) throw new ValidationError(`${field} ${size} is larger than the log, which has ${logSize} leaves`, { field, logSize });
    if (size < 1) throw new ValidationError(`${field} must be at least 1, got ${size}`, { field });
  }

  /**
   * Compares the whole store with the log, event by event in position order: an event whose
   * recomputed leaf differs from the one logged was ALTERED (an UPDATE), a logged position the
   * store no longer has is MISSING (a DELETE, or a history rewritten from there on), an event
   * at a position the log passed without seeing it was INSERTED. Then every signed checkpoint
   * is checked: its signature, and its root against the tree the logged leaves give (the log's
   * own tables rewritten). Reads everything: an audit operation, not a request-path check.
   */
  async verify(): Promise<LogVerification> {
    const { size, position } = await this.tables.state();
    const problems: LogProblem[] = [];
    let problemCount = 0;
    let firstBad: number | null = null;
    const report = (p: LogProblem) => {
      problemCount += 1;
      if (p.position !== null && (firstBad === null || p.position < firstBad)) firstBad = p.position;
      if (problems.length < MAX_PROBLEMS) problems.push(p);
    };
    const checkpoints = (await this.tables.checkpoints(null, 100_000)).reverse(); // oldest first
    let nextCheckpoint = 0;
    const range = new CompactRange();
    let eventsChecked = 0;

    const events = this.storeEvents(position);
    let event = await events.next();
    let leafIndex = 0;
    while (leafIndex < size) {
      const leaves = await this.tables.leaves(leafIndex, PAGE);
      if (leaves.length === 0) break;
      for (const leaf of leaves) {
        // Events the store has at positions the log never logged: inserted behind its back.
        while (!event.done && event.value.position < leaf.position) {
          report({ kind: 'INSERTED', position: event.value.position, leafIndex: null, eventId: event.value.id, detail: `the store has an event at position ${event.value.position} that the log passed over without it (inserted after the log had moved on)` });
          event = await events.next();
        }
        if (event.done || event.value.position > leaf.position) {
          report({ kind: 'MISSING', position: leaf.position, leafIndex: leaf.leafIndex, eventId: leaf.eventId, detail: `event ${leaf.eventId} (${leaf.stream}@${leaf.revision}) was logged at position ${leaf.position} and is no longer in the store` });
        } else {
          const recomputed = eventLeafHash(event.value);
          eventsChecked += 1;
          if (!recomputed.equals(leaf.leafHash) || event.value.id !== leaf.eventId) {
            report({ kind: 'ALTERED', position: leaf.position, leafIndex: leaf.leafIndex, eventId: leaf.eventId, detail: `the event at position ${leaf.position} (${event.value.stream}@${event.value.revision}) is not the event that was logged there: its leaf hash is ${hashToHex(recomputed)}, the log has ${hashToHex(leaf.leafHash)}` });
          }
          event = await events.next();
        }
        range.append(leaf.leafHash);
        while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint].treeSize === range.size) {
          this.checkCheckpoint(checkpoints[nextCheckpoint], range.root(), report);
          nextCheckpoint += 1;
        }
      }
      leafIndex = leaves[leaves.length - 1].leafIndex + 1;
    }
    if (range.size < size) report({ kind: 'MISSING', position: null, leafIndex: range.size, eventId: null, detail: `the log's tables hold ${range.size} leaves but its state says ${size}` });
    for (; nextCheckpoint < checkpoints.length; nextCheckpoint++) {
      const c = checkpoints[nextCheckpoint];
      if (c.treeSize === 0) this.checkCheckpoint(c, new CompactRange().root(), report);
      else report({ kind: 'CHECKPOINT_MISMATCH', position: null, leafIndex: null, eventId: null, detail: `checkpoint of size ${c.treeSize} is beyond the ${range.size} leaves the log holds` });
    }
    // Events the store has up to the log's position beyond its last leaf.
    while (!event.done) {
      report({ kind: 'INSERTED', position: event.value.position, leafIndex: null, eventId: event.value.id, detail: `the store has an event at position ${event.value.position} that the log passed over without it` });
      event = await events.next();
    }
    return { ok: problemCount === 0, treeSize: size, position, eventsChecked, checkpointsChecked: checkpoints.length, problems, problemCount, firstBadPosition: firstBad };
  }

  private checkCheckpoint(c: StoredCheckpoint, root: Buffer, report: (p: LogProblem) => void): void {
    try {
      const opened = openCheckpoint(c.note, this.signer.verifierKey);
      if (opened.size !== c.treeSize || !opened.root.equals(c.root)) {
        report({ kind: 'CHECKPOINT_SIGNATURE', position: null, leafIndex: null, eventId: null, detail: `the stored checkpoint of size ${c.treeSize} does not match its own signed note` });
        return;
      }
    } catch (error) {
      report({ kind: 'CHECKPOINT_SIGNATURE', position: null, leafIndex: null, eventId: null, detail: `checkpoint of size ${c.treeSize}: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    if (!root.equals(c.root)) {
      report({ kind: 'CHECKPOINT_MISMATCH', position: null, leafIndex: c.treeSize - 1, eventId: null, detail: `the logged leaves give root ${hashToHex(root)} at size ${c.treeSize}, the signed checkpoint says ${hashToHex(c.root)}: the log's own tables were rewritten` });
    }
  }

  /** The store's events up to `through`, in position order, a page at a time. */
  private async *storeEvents(through: number): AsyncGenerator<RecordedEvent> {
    let from = 1;
    for (;;) {
      const page = await this.store.readAll({ fromPosition: from, toPosition: through, limit: PAGE });
      for (const event of page) yield event;
      if (page.length < PAGE) return;
      from = page[page.length - 1].position + 1;
    }
  }
}

export function checkpointView(c: StoredCheckpoint): CheckpointView {
  return { treeSize: c.treeSize, rootHash: hashToHex(c.root), madeAt: c.madeAt.toISOString(), note: c.note, keyName: c.keyName };
}

function dedupe<T extends { level: number; index: number }>(ids: T[]): T[] {
  const seen = new Map<string, T>();
  for (const id of ids) seen.set(`${id.level}/${id.index}`, id);
  return [...seen.values()];
}
