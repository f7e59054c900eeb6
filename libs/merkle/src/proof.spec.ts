import {
  checkConsistency,
  checkInclusion,
  CompactRange,
  consistencyProof,
  consistencyProofPlan,
  inclusionProof,
  foldRightToLeft,
  inclusionProofPlan,
  leafHash,
  nodeHash,
  nodeBegin,
  nodeEnd,
  nodeKey,
  perfectNodesOf,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './index';

const MAX = 64;
const leaves = Array.from({ length: MAX }, (_, i) => leafHash(`event ${i}`));
const roots = Array.from({ length: MAX + 1 }, (_, n) => rootFromLeafHashes(leaves.slice(0, n)));

/** Every perfect node of the 64-leaf tree, as the log stores them while it grows. */
const stored = new Map<string, Buffer>();
const range = new CompactRange();
for (const h of leaves) for (const node of range.append(h)) stored.set(nodeKey(node.level, node.index), node.hash);
const getNode = (level: number, index: number): Buffer => {
  const hash = stored.get(nodeKey(level, index));
  if (!hash) throw new Error(`no node ${level}:${index}`);
  return hash;
};

/** Copies of `proof` with one byte of one element flipped, for each element. */
function flipped(proof: Buffer[]): Buffer[][] {
  return proof.map((_, i) => proof.map((p, j) => (j === i ? Buffer.from(p.map((byte, k) => (k === 7 ? byte ^ 0x20 : byte))) : p)));
}

describe('inclusion proofs, every leaf of every size 1..64', () => {
  it('verify against the MTH root, and every mutation fails', () => {
    let checked = 0;
    for (let size = 1; size <= MAX; size++) {
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(index, size, getNode);
        const root = roots[size];
        expect(checkInclusion(leaves[index], index, size, proof, root)).toEqual({ ok: true });
        expect(rootFromInclusionProof(leaves[index], index, size, proof)).toEqual(root);
        for (const bad of flipped(proof)) expect(verifyInclusion(leaves[index], index, size, bad, root)).toBe(false);
        for (const other of new Set([index - 1, index + 1, size - 1 - index, 0, size - 1])) if (other !== index && other >= 0 && other < size) expect(verifyInclusion(leaves[index], other, size, proof, root)).toBe(false);
        if (size > 1) expect(verifyInclusion(leaves[(index + 1) % size], index, size, proof, root)).toBe(false);
        // a wrong size with that size's root (a hash alone cannot tell a leaf from a subtree, so the
        // root of `size` claimed under another size can pass: the signed checkpoint binds size and root)
        for (const otherSize of [size - 1, size + 1, size * 2]) if (otherSize > index && otherSize <= MAX) expect(verifyInclusion(leaves[index], index, otherSize, proof, roots[otherSize])).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(leaves[index], index, size, proof.slice(0, -1), root)).toBe(false);
        expect(verifyInclusion(leaves[index], index, size, [...proof, leaves[0]], root)).toBe(false);
        expect(verifyInclusion(leaves[index], index, size, [leaves[0], ...proof], root)).toBe(false);
        if (size > 1) expect(verifyInclusion(leaves[index], index, size, proof, roots[size - 1])).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });

  it('say why they fail', () => {
    const proof = inclusionProof(5, 13, getNode);
    expect(checkInclusion(leaves[5], 5, 13, proof.slice(1), roots[13])).toEqual({ ok: false, reason: expect.stringMatching(/^wrong proof length: got 3 hashes, leaf 5 of a tree of size 13 has 4/) });
    expect(checkInclusion(leaves[5], 5, 13, proof, roots[12])).toEqual({ ok: false, reason: expect.stringMatching(/^root mismatch/) });
    expect(checkInclusion(leaves[5], 13, 13, proof, roots[13])).toEqual({ ok: false, reason: 'leaf index 13 is not in a tree of size 13' });
    expect(checkInclusion(leaves[5].subarray(1), 5, 13, proof, roots[13])).toEqual({ ok: false, reason: 'leaf hash is not a 32-byte hash' });
    expect(checkInclusion(leaves[5], 5, 13, [proof[0], proof[1].subarray(0, 31), proof[2], proof[3]], roots[13])).toEqual({ ok: false, reason: 'proof element 1 is not a 32-byte hash' });
    expect(checkInclusion(leaves[5], 5.5, 13, proof, roots[13])).toEqual({ ok: false, reason: 'leaf index must be an integer, got 5.5' });
  });
});

describe('consistency proofs, every pair of sizes 1 ≤ size1 ≤ size2 ≤ 64', () => {
  it('verify against the MTH roots, and every mutation fails', () => {
    let checked = 0;
    for (let size2 = 1; size2 <= MAX; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = consistencyProof(size1, size2, getNode);
        const [root1, root2] = [roots[size1], roots[size2]];
        expect(checkConsistency(size1, size2, proof, root1, root2)).toEqual({ ok: true });
        for (const bad of flipped(proof)) expect(verifyConsistency(size1, size2, bad, root1, root2)).toBe(false);
        if (proof.length > 0) expect(verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2)).toBe(false);
        expect(verifyConsistency(size1, size2, [...proof, leaves[0]], root1, root2)).toBe(false);
        expect(verifyConsistency(size1, size2, [leaves[0], ...proof], root1, root2)).toBe(false);
        if (size1 > 1) expect(verifyConsistency(size1 - 1, size2, proof, roots[size1 - 1], root2)).toBe(false);
        if (size1 < size2) expect(verifyConsistency(size1 + 1, size2, proof, roots[size1 + 1], root2)).toBe(false);
        if (size2 < MAX) expect(verifyConsistency(size1, size2 + 1, proof, root1, roots[size2 + 1])).toBe(false);
        if (size1 < size2) {
          expect(verifyConsistency(size1, size2, proof, roots[size1 - 1 || size1 + 1], root2)).toBe(false);
          expect(verifyConsistency(size1, size2, proof, root1, roots[size2 - 1])).toBe(false);
          expect(verifyConsistency(size1, size2, proof, root2, root1)).toBe(false);
        }
        checked++;
      }
    }
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });

  it('say why they fail', () => {
    const proof = consistencyProof(5, 13, getNode);
    expect(checkConsistency(5, 13, proof.slice(1), roots[5], roots[13])).toEqual({ ok: false, reason: expect.stringMatching(/^wrong proof length: got 4 hashes, a consistency proof from 5 to 13 has 5/) });
    expect(checkConsistency(5, 13, proof, roots[4], roots[13])).toEqual({ ok: false, reason: expect.stringMatching(/^root1 mismatch/) });
    expect(checkConsistency(5, 13, proof, roots[5], roots[12])).toEqual({ ok: false, reason: expect.stringMatching(/^root2 mismatch/) });
    expect(checkConsistency(7, 7, [], roots[7], roots[6])).toEqual({ ok: false, reason: expect.stringMatching(/^root mismatch/) });
    expect(checkConsistency(0, 7, [], roots[0], roots[7])).toEqual({ ok: false, reason: expect.stringMatching(/meaningless/) });
    expect(checkConsistency(8, 7, [], roots[8], roots[7])).toEqual({ ok: false, reason: 'size1 8 is larger than size2 7: a tree cannot shrink' });
  });
});

describe('proof plans', () => {
  it('refuse impossible arguments with a RangeError that names them', () => {
    expect(() => inclusionProofPlan(3, 3)).toThrow(new RangeError('leaf index 3 is not in a tree of size 3'));
    expect(() => inclusionProofPlan(0, 0)).toThrow(RangeError);
    expect(() => inclusionProofPlan(-1, 3)).toThrow('leaf index must not be negative, got -1');
    expect(() => inclusionProofPlan(1.5, 3)).toThrow('leaf index must be an integer, got 1.5');
    expect(() => inclusionProofPlan(0, 2 ** 53)).toThrow(/beyond 9007199254740991/);
    expect(() => inclusionProofPlan(0, NaN)).toThrow('tree size must be an integer, got NaN');
    expect(() => consistencyProofPlan(4, 3)).toThrow(new RangeError('size1 4 is larger than size2 3: a tree cannot shrink'));
    expect(() => consistencyProofPlan(0, 3)).toThrow(/empty tree/);
    expect(() => consistencyProofPlan(0, 0)).toThrow(/empty tree/);
    expect(consistencyProofPlan(5, 5).nodes).toEqual([]);
  });

  it('name the node a lookup lacks', () => {
    const plan = inclusionProofPlan(2, 7);
    const partial = new Map(plan.nodes.slice(1).map((n) => [nodeKey(n.level, n.index), getNode(n.level, n.index)]));
    const { level, index } = plan.nodes[0];
    expect(() => plan.assemble(partial)).toThrow(`the hash of node (level ${level}, index ${index}) is missing from the lookup`);
  });

  it('assemble from a Map read in one go, hashing ephemeral right-edge nodes', () => {
    const plan = inclusionProofPlan(0, 7);
    // leaf 0 of 7: leaf 1, node [2,4), then the ephemeral [4,7) = H([4,6), leaf 6)
    expect(plan.elements).toEqual([[{ level: 0, index: 1 }], [{ level: 1, index: 1 }], [{ level: 1, index: 2 }, { level: 0, index: 6 }]]);
    const fetched = new Map(plan.nodes.map((n) => [nodeKey(n.level, n.index), getNode(n.level, n.index)]));
    expect(plan.assemble(fetched)).toEqual(inclusionProof(0, 7, getNode));
    expect(verifyInclusion(leaves[0], 0, 7, plan.assemble(fetched), roots[7])).toBe(true);
  });

  it.each([1_000_000, 2 ** 40 + 12345, 2 ** 53 - 1])('stay O(log n) with node ids in range at size %d', (size) => {
    const bits = Math.ceil(Math.log2(size + 1));
    const inRange = (end: number) => (node: { level: number; index: number }) => {
      expect(Number.isSafeInteger(node.index) && node.index >= 0).toBe(true);
      expect(nodeEnd(node)).toBeLessThanOrEqual(end);
    };
    for (const index of [0, 1, Math.floor(size / 3), size - 2, size - 1]) {
      const plan = inclusionProofPlan(index, size);
      expect(plan.elements.length).toBeLessThanOrEqual(bits);
      expect(plan.nodes.length).toBeLessThanOrEqual(2 * bits);
      plan.nodes.forEach(inRange(size));
      // the element covering the leaf's own subtree never includes the leaf
      for (const node of plan.nodes) expect(index >= nodeBegin(node) && index < nodeEnd(node)).toBe(false);
    }
    for (const size1 of [1, 2, 3, Math.floor(size / 2), size - 1]) {
      const plan = consistencyProofPlan(size1, size);
      expect(plan.elements.length).toBeLessThanOrEqual(2 * bits);
      expect(plan.nodes.length).toBeLessThanOrEqual(3 * bits);
      plan.nodes.forEach(inRange(size));
    }
  });

  it('round-trip through verification at size 2^40 + 12345', () => {
    // Proofs touch O(log n) nodes, but their hashes must be those of one real tree. In a tree whose
    // leaves are all equal, a perfect node of level l has the same hash wherever it is, so the
    // hashes of every level are computed in 41 steps.
    const same = leafHash('same');
    const perfect: Buffer[] = [same];
    for (let l = 1; l <= 41; l++) perfect.push(nodeHash(perfect[l - 1], perfect[l - 1]));
    const get = (level: number) => perfect[level];
    const root = (n: number) => foldRightToLeft(perfectNodesOf(0, n).map((node) => perfect[node.level]));
    const size = 2 ** 40 + 12345;
    for (const index of [0, 2 ** 39 + 7, size - 1]) expect(verifyInclusion(same, index, size, inclusionProof(index, size, get), root(size))).toBe(true);
    for (const size1 of [1, 2 ** 40, 2 ** 40 + 1, size - 1]) expect(verifyConsistency(size1, size, consistencyProof(size1, size, get), root(size1), root(size))).toBe(true);
    expect(verifyInclusion(same, 2 ** 39 + 7, size, inclusionProof(2 ** 39 + 7, size, get), root(size - 1))).toBe(false);
  });
});
