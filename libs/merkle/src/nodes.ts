/**
 * Ids of perfect, aligned subtrees: the only nodes a log stores. A node never changes once its
 * last leaf has arrived, so it can be written once and read by any later proof.
 */

/**
 * The perfect subtree of 2^level leaves starting at leaf index·2^level, i.e. covering leaves
 * [index·2^level, (index+1)·2^level). Level 0 nodes are the leaf hashes themselves.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A perfect node together with its hash, as CompactRange.append hands them out to be stored. */
export interface PerfectNode extends NodeId {
  readonly hash: Buffer;
}

/** The largest tree size (and leaf index + 1) handled exactly: sizes are plain numbers. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** A stable string key for a node id, `"<level>:<index>"`, for the Map that ProofPlan.assemble reads. */
export function nodeKey(level: number, index: number): string {
  return `${level}:${index}`;
}

/** First leaf covered by the node. */
export function nodeBegin(node: NodeId): number {
  return node.index * 2 ** node.level;
}

/** One past the last leaf covered by the node. */
export function nodeEnd(node: NodeId): number {
  return (node.index + 1) * 2 ** node.level;
}

/**
 * The decomposition of the leaf range [begin, end) into maximal perfect aligned subtrees, left to
 * right: at each step the biggest node that starts at `begin` (aligned) and fits before `end`.
 * Levels rise and then fall; for begin = 0 they only fall (the binary digits of end, biggest first).
 */
export function perfectNodesOf(begin: number, end: number): NodeId[] {
  checkCount(begin, 'begin');
  checkCount(end, 'end');
  if (begin > end) throw new RangeError(`range begin ${begin} is after its end ${end}`);
  const nodes: NodeId[] = [];
  let at = begin;
  while (at < end) {
    let level = 0;
    let width = 1;
    // grow while the doubled node stays aligned at `at` and inside the range
    while (at % (width * 2) === 0 && at + width * 2 <= end) {
      width *= 2;
      level += 1;
    }
    nodes.push({ level, index: at / width });
    at += width;
  }
  return nodes;
}

/** Throws a RangeError unless n is an integer in [0, MAX_SIZE]; `what` names it. */
export function checkCount(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new RangeError(`${what} must be an integer, got ${String(n)}`);
  if (n < 0) throw new RangeError(`${what} must not be negative, got ${n}`);
  if (n > MAX_SIZE) throw new RangeError(`${what} ${n} is beyond ${MAX_SIZE} (2^53 − 1), the largest exact integer`);
}
