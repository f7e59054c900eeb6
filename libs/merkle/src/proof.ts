import { foldRightToLeft } from './compact';
import { checkHash, largestPowerOfTwoBelow } from './hash';
import { checkCount, type NodeId, nodeKey, perfectNodesOf } from './nodes';

/** Where ProofPlan.assemble reads node hashes: a Map keyed by nodeKey(level, index), or a function. */
export type NodeLookup = ReadonlyMap<string, Buffer> | ((level: number, index: number) => Buffer | undefined);

/**
 * How to build one proof in two phases, so that storage is read once: fetch the hashes of `nodes`
 * (e.g. one SQL query for all the (level, index) pairs), then `assemble` them.
 */
export interface ProofPlan {
  /** The distinct perfect nodes the proof needs, in proof order. */
  readonly nodes: ReadonlyArray<NodeId>;
  /**
   * One entry per proof element, in proof order: the perfect nodes whose hashes, folded right to
   * left, give that element. A single node for an element that is itself a perfect subtree; more
   * for an ephemeral node on the right edge of a tree whose size is not a power of two.
   */
  readonly elements: ReadonlyArray<ReadonlyArray<NodeId>>;
  /** The proof, from the hashes of `nodes`. Throws an Error naming a node the lookup lacks. */
  assemble(lookup: NodeLookup): Buffer[];
}

/** A leaf range [begin, end) whose RFC 6962 hash is one proof element. */
type Span = readonly [begin: number, end: number];

/**
 * The plan of the RFC 6962 §2.1.1 audit path of leaf `index` in the tree of `size` leaves
 * (RFC 9162 §2.1.3.1): the siblings from the leaf up to the root. Throws RangeError unless
 * 0 ≤ index < size.
 */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  const spans: Span[] = [];
  path(index, 0, size, spans);
  return planOf(spans);
}

/** PATH(m, D[begin:end]) of RFC 6962, deepest sibling first. */
function path(m: number, begin: number, end: number, out: Span[]): void {
  if (end - begin === 1) return;
  const k = largestPowerOfTwoBelow(end - begin);
  if (m < begin + k) {
    path(m, begin, begin + k, out);
    out.push([begin + k, end]);
  } else {
    path(m, begin + k, end, out);
    out.push([begin, begin + k]);
  }
}

/**
 * The plan of the RFC 6962 §2.1.2 consistency proof between the trees of size1 and size2 leaves
 * (RFC 9162 §2.1.4.1). Empty when size1 = size2. Throws RangeError for size1 = 0 (every tree
 * extends the empty one: there is nothing to prove) and for size1 > size2.
 */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  if (size1 === 0) throw new RangeError('a consistency proof from the empty tree (size1 = 0) is meaningless: every tree extends it');
  if (size1 > size2) throw new RangeError(`size1 ${size1} is larger than size2 ${size2}: a tree cannot shrink`);
  const spans: Span[] = [];
  if (size1 < size2) subproof(size1, 0, size2, true, spans);
  return planOf(spans);
}

/** SUBPROOF(m, D[begin:end], b) of RFC 6962, m counted from `begin`. */
function subproof(m: number, begin: number, end: number, known: boolean, out: Span[]): void {
  if (begin + m === end) {
    if (!known) out.push([begin, end]);
    return;
  }
  const k = largestPowerOfTwoBelow(end - begin);
  if (m <= k) {
    subproof(m, begin, begin + k, known, out);
    out.push([begin + k, end]);
  } else {
    subproof(m - k, begin + k, end, false, out);
    out.push([begin, begin + k]);
  }
}

function planOf(spans: ReadonlyArray<Span>): ProofPlan {
  const elements = spans.map(([begin, end]) => perfectNodesOf(begin, end));
  const seen = new Set<string>();
  const nodes: NodeId[] = [];
  for (const node of elements.flat()) {
    const key = nodeKey(node.level, node.index);
    if (!seen.has(key)) {
      seen.add(key);
      nodes.push(node);
    }
  }
  return {
    nodes,
    elements,
    assemble(lookup: NodeLookup): Buffer[] {
      const get = typeof lookup === 'function' ? lookup : (level: number, index: number) => lookup.get(nodeKey(level, index));
      return elements.map((parts) =>
        foldRightToLeft(
          parts.map(({ level, index }) => {
            const hash = get(level, index);
            if (hash === undefined) throw new Error(`the hash of node (level ${level}, index ${index}) is missing from the lookup`);
            checkHash(hash, `the hash of node (level ${level}, index ${index})`);
            return hash;
          }),
        ),
      );
    },
  };
}

/** Synchronous reader of stored perfect-node hashes. */
export type GetNode = (level: number, index: number) => Buffer;

/** The inclusion proof of leaf `index` in the tree of `size` leaves, reading nodes one by one. */
export function inclusionProof(index: number, size: number, getNode: GetNode): Buffer[] {
  return inclusionProofPlan(index, size).assemble(getNode);
}

/** The consistency proof from the tree of size1 leaves to the tree of size2, reading nodes one by one. */
export function consistencyProof(size1: number, size2: number, getNode: GetNode): Buffer[] {
  return consistencyProofPlan(size1, size2).assemble(getNode);
}
