import { CompactRange, EMPTY_ROOT, leafHash, nodeKey, perfectNodesOf, rootFromLeafHashes } from './index';

const leaves = Array.from({ length: 200 }, (_, i) => leafHash(Buffer.from([i, 0xee, i])));

describe('CompactRange', () => {
  it('has the MTH root at every size 0..200', () => {
    const range = new CompactRange();
    expect(range.root()).toEqual(EMPTY_ROOT);
    for (let size = 1; size <= 200; size++) {
      range.append(leaves[size - 1]);
      expect(range.size).toBe(size);
      expect(range.root()).toEqual(rootFromLeafHashes(leaves.slice(0, size)));
    }
  });

  it('hands out every perfect aligned subtree exactly once, with its hash', () => {
    const range = new CompactRange();
    const seen = new Map<string, Buffer>();
    for (const [i, h] of leaves.entries()) {
      const nodes = range.append(h);
      expect(nodes[0]).toEqual({ level: 0, index: i, hash: h });
      for (const node of nodes) {
        const key = nodeKey(node.level, node.index);
        expect(seen.has(key)).toBe(false);
        seen.set(key, node.hash);
      }
    }
    const expected: string[] = [];
    for (let level = 0; 2 ** level <= 200; level++)
      for (let index = 0; (index + 1) * 2 ** level <= 200; index++) {
        expected.push(nodeKey(level, index));
        expect(seen.get(nodeKey(level, index))).toEqual(rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)));
      }
    expect([...seen.keys()].sort()).toEqual(expected.sort());
  });

  it('restores from its frontier and keeps growing the same tree', () => {
    const range = new CompactRange();
    for (let size = 0; size < 100; size++) {
      const copy = CompactRange.fromFrontier(range.size, range.frontier());
      expect(copy.root()).toEqual(range.root());
      expect(copy.append(leaves[size])).toEqual(range.append(leaves[size]));
      expect(copy.frontier()).toEqual(range.frontier());
    }
  });

  it('has as frontier the hashes of perfectNodesOf(0, size), biggest first', () => {
    const range = new CompactRange();
    leaves.slice(0, 77).forEach((h) => range.append(h));
    const nodes = perfectNodesOf(0, 77);
    expect(nodes.map((n) => n.level)).toEqual([6, 3, 2, 0]);
    expect(range.frontier()).toEqual(nodes.map((n) => rootFromLeafHashes(leaves.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level))));
  });

  it('refuses a frontier that does not fit the size, and hashes that are not 32 bytes', () => {
    expect(() => CompactRange.fromFrontier(5, [leaves[0]])).toThrow('a frontier of size 5 has 2 hashes (one per binary digit 1), got 1');
    expect(() => CompactRange.fromFrontier(2 ** 52 + 1, [leaves[0], leaves[1].subarray(2)])).toThrow('frontier hash 1 must be 32 bytes, got 30');
    expect(() => CompactRange.fromFrontier(-1, [])).toThrow(RangeError);
    expect(() => new CompactRange().append(Buffer.alloc(31))).toThrow('leaf hash must be 32 bytes, got 31');
  });

  it('counts past 2^32 without bit tricks', () => {
    const size = 2 ** 32 + 2 ** 31 - 1; // binary 1 0111…1: 32 trailing ones
    const frontier = perfectNodesOf(0, size).map((_, i) => leaves[i]);
    const range = CompactRange.fromFrontier(size, frontier);
    const nodes = range.append(leaves[199]);
    expect(nodes.map((n) => n.level)).toEqual(Array.from({ length: 32 }, (_, l) => l));
    expect(nodes[31]).toMatchObject({ level: 31, index: 2 });
    expect(range.size).toBe(2 ** 32 + 2 ** 31);
    expect(range.frontier()).toHaveLength(2);
  });
});

describe('perfectNodesOf', () => {
  it('cuts any range into maximal aligned subtrees, left to right', () => {
    expect(perfectNodesOf(0, 0)).toEqual([]);
    expect(perfectNodesOf(0, 13)).toEqual([{ level: 3, index: 0 }, { level: 2, index: 2 }, { level: 0, index: 12 }]);
    expect(perfectNodesOf(3, 13)).toEqual([{ level: 0, index: 3 }, { level: 2, index: 1 }, { level: 2, index: 2 }, { level: 0, index: 12 }]);
    for (let begin = 0; begin <= 40; begin++)
      for (let end = begin; end <= 40; end++) {
        let at = begin;
        for (const { level, index } of perfectNodesOf(begin, end)) {
          expect(index * 2 ** level).toBe(at);
          at += 2 ** level;
        }
        expect(at).toBe(end);
      }
    expect(() => perfectNodesOf(5, 4)).toThrow('range begin 5 is after its end 4');
  });

  it('handles 2^53 − 1', () => {
    const nodes = perfectNodesOf(0, 2 ** 53 - 1);
    expect(nodes).toHaveLength(53);
    expect(nodes[0]).toEqual({ level: 52, index: 0 });
    expect(nodes[52]).toEqual({ level: 0, index: 2 ** 53 - 2 });
  });
});
