import { checkHash, EMPTY_ROOT, nodeHash } from './hash';
import { checkCount, MAX_SIZE, type PerfectNode } from './nodes';

/**
 * The right frontier of a growing log tree (transparency-dev's compact.Range starting at 0): the
 * hashes of the perfect subtrees that the binary decomposition of `size` cuts [0, size) into,
 * biggest first. That is all a writer needs to keep in memory to append leaves and compute the
 * root; every node it completes is handed back to be stored for proofs.
 */
export class CompactRange {
  private readonly hashes: Buffer[];
  private count: number;

  constructor() {
    this.hashes = [];
    this.count = 0;
  }

  /**
   * Restores a range saved with `frontier()` (e.g. after a restart, from the stored nodes of
   * perfectNodesOf(0, size)). Throws unless there is exactly one 32-byte hash per binary digit 1
   * of `size`.
   */
  static fromFrontier(size: number, hashes: ReadonlyArray<Buffer>): CompactRange {
    checkCount(size, 'size');
    const expected = onesIn(size);
    if (hashes.length !== expected) throw new RangeError(`a frontier of size ${size} has ${expected} hashes (one per binary digit 1), got ${hashes.length}`);
    hashes.forEach((h, i) => checkHash(h, `frontier hash ${i}`));
    const range = new CompactRange();
    range.hashes.push(...hashes.map((h) => Buffer.from(h)));
    range.count = size;
    return range;
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this.count;
  }

  /**
   * Appends the leaf hash of leaf number `size` and returns every perfect node this completes, the
   * leaf itself (level 0) first, then each parent whose right child it finishes, bottom up. A
   * leaf at an index with k trailing binary ones completes k + 1 nodes.
   */
  append(leafHash: Buffer): PerfectNode[] {
    checkHash(leafHash, 'leaf hash');
    if (this.count >= MAX_SIZE) throw new RangeError(`the tree is full: ${MAX_SIZE} leaves is the most that plain numbers count exactly`);
    let hash: Buffer = Buffer.from(leafHash);
    let level = 0;
    let index = this.count;
    const completed: PerfectNode[] = [{ level, index, hash }];
    // each trailing binary 1 of the old size is a frontier node the new one pairs with
    let rest = this.count;
    while (rest % 2 === 1) {
      hash = nodeHash(this.hashes.pop()!, hash);
      level += 1;
      index = (index - 1) / 2;
      completed.push({ level, index, hash });
      rest = (rest - 1) / 2;
    }
    this.hashes.push(hash);
    this.count += 1;
    return completed;
  }

  /**
   * The root of the tree of the current size: the frontier hashed right to left (the smallest
   * subtrees first), which is what RFC 6962's MTH gives for a size that is not a power of two.
   * EMPTY_ROOT for size 0.
   */
  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    return foldRightToLeft(this.hashes);
  }

  /** Copies of the frontier hashes, biggest subtree first (the nodes of perfectNodesOf(0, size)). */
  frontier(): Buffer[] {
    return this.hashes.map((h) => Buffer.from(h));
  }
}

/**
 * Hashes a left-to-right list of adjacent subtree hashes into one, starting from the right:
 * H(h0, H(h1, … H(hn−2, hn−1))). The RFC 6962 hash of a range cut into its perfect subtrees.
 */
export function foldRightToLeft(hashes: ReadonlyArray<Buffer>): Buffer {
  if (hashes.length === 0) throw new RangeError('cannot hash an empty list of subtrees');
  let acc = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i], acc);
  return acc;
}

/** Number of binary digits 1 in n, without 32-bit bit operations. */
export function onesIn(n: number): number {
  let ones = 0;
  let rest = n;
  while (rest > 0) {
    if (rest % 2 === 1) ones += 1;
    rest = Math.floor(rest / 2);
  }
  return ones;
}
