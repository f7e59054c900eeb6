/**
 * RFC 6962 / RFC 9162 Merkle tree of a log: leaf and node hashes, the compact range a writer keeps,
 * two-phase inclusion and consistency proofs over stored perfect subtrees, their verification,
 * and Ed25519-signed checkpoints (C2SP tlog-checkpoint, signed-note). Pure: no I/O but
 * node:crypto. Formats and usage: libs/merkle/README.md.
 */
export { checkHash, EMPTY_ROOT, HASH_SIZE, hashFromHex, hashToHex, leafHash, nodeHash, rootFromLeafHashes } from './hash';
export { checkCount, MAX_SIZE, nodeBegin, nodeEnd, type NodeId, nodeKey, type PerfectNode, perfectNodesOf } from './nodes';
export { CompactRange, foldRightToLeft } from './compact';
export { consistencyProof, consistencyProofPlan, type GetNode, inclusionProof, inclusionProofPlan, type NodeLookup, type ProofPlan } from './proof';
export { checkConsistency, checkInclusion, rootFromInclusionProof, type Verdict, verifyConsistency, verifyInclusion } from './verify';
export { checkpointSigner, generateSigningKey, type NoteSigner, type NoteVerifier, noteKeyHash, openNote, parseVerifierKey, signNote, verifierKey } from './note';
export { type Checkpoint, checkpointBody, openCheckpoint, parseCheckpointBody, signCheckpoint } from './checkpoint';
