/**
 * Known answers: the RFC 6962 reference vectors of transparency-dev/merkle (testonly/constants.go:
 * leaves, node hashes, roots; cmd/proofgen/main.go: inclusion and consistency proofs, whose leaf
 * numbers there count from 1), also used by certificate-transparency-go.
 */
import { CompactRange, consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, nodeHash, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './index';

const hd = (hex: string) => Buffer.from(hex, 'hex');

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hd);

/** NodeHashes()[level][index] */
const NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

/** RootHashes()[size], size 0..8 */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** proofgen's inclusionProofs, leaf converted to a 0-based index. */
const INCLUSION: Array<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

/** proofgen's consistencyProofs. */
const CONSISTENCY: Array<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

const leafHashes = LEAVES.map((leaf) => leafHash(leaf));

/** Node hashes of the 8-leaf tree, from the range that grows it: what a log would store. */
function storedNodes(): Map<string, Buffer> {
  const range = new CompactRange();
  const stored = new Map<string, Buffer>();
  for (const h of leafHashes) for (const node of range.append(h)) stored.set(`${node.level}:${node.index}`, node.hash);
  return stored;
}
const getNode = (stored: Map<string, Buffer>) => (level: number, index: number) => stored.get(`${level}:${index}`)!;

describe('RFC 6962 reference vectors', () => {
  it('hashes the empty tree, the leaves and the inner nodes', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
    expect(leafHashes.map((h) => h.toString('hex'))).toEqual(NODES[0]);
    for (let level = 1; level < NODES.length; level++)
      NODES[level].forEach((hex, index) => expect(nodeHash(hd(NODES[level - 1][2 * index]), hd(NODES[level - 1][2 * index + 1])).toString('hex')).toBe(hex));
  });

  it('gives the roots of sizes 0..8, by MTH and by the compact range', () => {
    const range = new CompactRange();
    for (let size = 0; size <= 8; size++) {
      expect(rootFromLeafHashes(leafHashes.slice(0, size)).toString('hex')).toBe(ROOTS[size]);
      expect(range.root().toString('hex')).toBe(ROOTS[size]);
      if (size < 8) range.append(leafHashes[size]);
    }
  });

  it('stores exactly the vectors’ node hashes', () => {
    const stored = storedNodes();
    expect(stored.size).toBe(15);
    NODES.forEach((level, l) => level.forEach((hex, i) => expect(stored.get(`${l}:${i}`)?.toString('hex')).toBe(hex)));
  });

  it.each(INCLUSION)('builds and verifies the inclusion proof of leaf $index in size $size', ({ index, size, proof }) => {
    const built = inclusionProof(index, size, getNode(storedNodes()));
    expect(built.map((h) => h.toString('hex'))).toEqual(proof);
    expect(verifyInclusion(leafHashes[index], index, size, proof.map(hd), hd(ROOTS[size]))).toBe(true);
  });

  it.each(CONSISTENCY)('builds and verifies the consistency proof from $size1 to $size2', ({ size1, size2, proof }) => {
    const built = consistencyProof(size1, size2, getNode(storedNodes()));
    expect(built.map((h) => h.toString('hex'))).toEqual(proof);
    expect(verifyConsistency(size1, size2, proof.map(hd), hd(ROOTS[size1]), hd(ROOTS[size2]))).toBe(true);
  });

  it('verifies transparency-dev’s testdata happy paths (base64, leaf 0 of 8, consistency 1 → 8)', () => {
    // testdata/inclusion/1/happy-path.json and testdata/consistency/1/happy-path.json
    const b = (s: string) => Buffer.from(s, 'base64');
    const proof = ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ='].map(b);
    const root = b('XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=');
    const leaf = b('bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=');
    expect(verifyInclusion(leaf, 0, 8, proof, root)).toBe(true);
    expect(verifyConsistency(1, 8, proof, leaf, root)).toBe(true);
  });
});
