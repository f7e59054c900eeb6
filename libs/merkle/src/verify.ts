import { HASH_SIZE, nodeHash } from './hash';
import { checkCount } from './nodes';
import { consistencyProofPlan, inclusionProofPlan } from './proof';

/** The outcome of a verification: ok, or why not (for logs and an auditor's report). */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });

/**
 * The root that an inclusion proof of leaf `index` in a tree of `size` leaves leads to, by the
 * algorithm of RFC 9162 §2.1.3.2 (which also checks RFC 6962 proofs). Throws RangeError for
 * index ≥ size, a proof of the wrong length for (index, size), or a hash that is not 32 bytes.
 */
export function rootFromInclusionProof(leafHash: Buffer, index: number, size: number, proof: ReadonlyArray<Buffer>): Buffer {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  checkHashes(leafHash, proof);
  const expected = inclusionProofPlan(index, size).elements.length;
  if (proof.length !== expected) throw new RangeError(`wrong proof length: got ${proof.length} hashes, leaf ${index} of a tree of size ${size} has ${expected}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new RangeError('wrong proof length: the proof goes past the root');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // climb past the levels where this subtree is a left child with no right sibling
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new RangeError('wrong proof length: the proof stops below the root');
  return r;
}

/** Whether `proof` shows that the leaf with `leafHash` is number `index` of the tree of `size` leaves with `root`. */
export function verifyInclusion(leafHash: Buffer, index: number, size: number, proof: ReadonlyArray<Buffer>, root: Buffer): boolean {
  return checkInclusion(leafHash, index, size, proof, root).ok;
}

/** verifyInclusion that says why a proof fails: bad arguments, wrong length, or root mismatch. */
export function checkInclusion(leafHash: Buffer, index: number, size: number, proof: ReadonlyArray<Buffer>, root: Buffer): Verdict {
  if (!isHash(root)) return fail('the expected root is not a 32-byte hash');
  let computed: Buffer;
  try {
    computed = rootFromInclusionProof(leafHash, index, size, proof);
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!computed.equals(root)) return fail(`root mismatch: the proof leads to ${computed.toString('hex')}, expected ${root.toString('hex')}`);
  return OK;
}

/**
 * Whether `proof` shows that the tree of size2 leaves with root2 extends the tree of size1 leaves
 * with root1 (RFC 9162 §2.1.4.2). size1 = size2 needs an empty proof and equal roots; size1 = 0
 * always fails, as consistencyProofPlan refuses it.
 */
export function verifyConsistency(size1: number, size2: number, proof: ReadonlyArray<Buffer>, root1: Buffer, root2: Buffer): boolean {
  return checkConsistency(size1, size2, proof, root1, root2).ok;
}

/** verifyConsistency that says why a proof fails: bad arguments, wrong length, or which root mismatches. */
export function checkConsistency(size1: number, size2: number, proof: ReadonlyArray<Buffer>, root1: Buffer, root2: Buffer): Verdict {
  let expected: number;
  try {
    checkHashes(root1, proof, 'root1');
    checkHashes(root2, [], 'root2');
    expected = consistencyProofPlan(size1, size2).elements.length;
  } catch (e) {
    return fail((e as Error).message);
  }
  if (proof.length !== expected) return fail(`wrong proof length: got ${proof.length} hashes, a consistency proof from ${size1} to ${size2} has ${expected}`);
  if (size1 === size2) return root1.equals(root2) ? OK : fail(`root mismatch: trees of the same size ${size1} with different roots`);

  // RFC 9162 §2.1.4.2, steps 2–7
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('wrong proof length: the proof goes past the root of size2');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('wrong proof length: the proof stops below the root of size2');
  if (!fr.equals(root1)) return fail(`root1 mismatch: the proof leads to ${fr.toString('hex')} for size ${size1}, expected ${root1.toString('hex')}`);
  if (!sr.equals(root2)) return fail(`root2 mismatch: the proof leads to ${sr.toString('hex')} for size ${size2}, expected ${root2.toString('hex')}`);
  return OK;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let rest = n;
  while (rest % 2 === 0) rest /= 2;
  return rest === 1;
}

function isHash(h: unknown): h is Buffer {
  return Buffer.isBuffer(h) && h.length === HASH_SIZE;
}

function checkHashes(first: Buffer, proof: ReadonlyArray<Buffer>, firstName = 'leaf hash'): void {
  if (!isHash(first)) throw new RangeError(`${firstName} is not a 32-byte hash`);
  if (!Array.isArray(proof)) throw new TypeError('the proof must be an array of hashes');
  proof.forEach((p, i) => {
    if (!isHash(p)) throw new RangeError(`proof element ${i} is not a 32-byte hash`);
  });
}
