import { createHash } from 'node:crypto';

/** Bytes in a SHA-256 hash, and so in every leaf, node and root hash of the tree. */
export const HASH_SIZE = 32;

/** The root of the empty tree: SHA-256 of no bytes (RFC 6962 §2.1, MTH({}) = SHA-256()). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/**
 * RFC 6962 leaf hash, SHA-256(0x00 ‖ leaf). A string is hashed as its UTF-8 bytes. The 0x00
 * prefix (0x01 for nodes) keeps a leaf from ever being taken for an inner node (second preimage).
 */
export function leafHash(leaf: Buffer | Uint8Array | string): Buffer {
  const bytes = typeof leaf === 'string' ? Buffer.from(leaf, 'utf8') : leaf;
  return createHash('sha256').update(LEAF_PREFIX).update(bytes).digest();
}

/** RFC 6962 inner node hash, SHA-256(0x01 ‖ left ‖ right). Both children must be 32-byte hashes. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  checkHash(left, 'left child hash');
  checkHash(right, 'right child hash');
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * The Merkle Tree Hash of a list of leaf hashes, as RFC 6962 §2.1 defines it: split at the largest
 * power of two smaller than n, hash both halves, join. Recursive and O(n): the test oracle and the
 * root of small trees; growing logs use CompactRange instead.
 */
export function rootFromLeafHashes(hashes: ReadonlyArray<Buffer>): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  hashes.forEach((h, i) => checkHash(h, `leaf hash ${i}`));
  return mth(hashes, 0, hashes.length);
}

function mth(hashes: ReadonlyArray<Buffer>, begin: number, end: number): Buffer {
  if (end - begin === 1) return hashes[begin];
  const k = largestPowerOfTwoBelow(end - begin);
  return nodeHash(mth(hashes, begin, begin + k), mth(hashes, begin + k, end));
}

/** The largest power of two strictly smaller than n (n ≥ 2), by multiplication: sizes go past 2^31. */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Throws unless `hash` is a 32-byte Buffer; `what` names it in the message. */
export function checkHash(hash: unknown, what: string): asserts hash is Buffer {
  if (!Buffer.isBuffer(hash)) throw new TypeError(`${what} must be a Buffer, got ${typeof hash}`);
  if (hash.length !== HASH_SIZE) throw new RangeError(`${what} must be ${HASH_SIZE} bytes, got ${hash.length}`);
}

/** Lower-case hex of a hash, for logs, JSON and SQL edges. */
export function hashToHex(hash: Buffer): string {
  checkHash(hash, 'hash');
  return hash.toString('hex');
}

/** Parses 64 hex digits into a hash; anything else throws (Buffer.from(…, 'hex') would silently truncate). */
export function hashFromHex(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`a hash must be 64 hex digits, got ${JSON.stringify(hex.length > 80 ? `${hex.slice(0, 80)}…` : hex)}`);
  return Buffer.from(hex, 'hex');
}
