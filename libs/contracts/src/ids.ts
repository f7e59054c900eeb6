import { createHash } from 'node:crypto';

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 over a namespace and a name). Aggregates whose
 * natural key must be unique (a dataset name within a project, a version's digest within a
 * dataset) take their id from that key: a second attempt lands on the same stream and is
 * decided there, atomically, with no separate uniqueness index to keep in step.
 */
export function nameBasedUuid(namespace: string, name: string): string {
  const bytes = createHash('sha1').update(namespaceBytes(namespace)).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function namespaceBytes(namespace: string): Buffer {
  const hex = namespace.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`UUID namespace "${namespace}" is not a UUID`);
  return Buffer.from(hex, 'hex');
}

/** Namespaces of the natural keys that name aggregates. Never change one: ids would move. */
export const ID_NAMESPACES = {
  dataset: '5b0f4c1e-2d7a-4f0e-9a51-6c3e8d2b7f10',
  datasetVersion: '8e2d7c4a-1b6f-4e3d-8c2a-9f5b0d7e6a21',
  project: '3c9a1e7d-5f2b-4a8c-b6e4-2d0f8a1c9e32',
  experiment: 'a7d4e2f1-9c3b-4e5a-8f1d-6b2c0e9a7d43',
  /** Ids of things a command creates, from its command id: a retried command names the same thing. */
  command: 'c4e8a2d6-7b1f-4c3e-9a5d-0f2b6e8c1a54',
  split: 'e1f3b5d7-9a2c-4e6b-8d0f-2a4c6e8b0d65',
  /** Run ids derived from the Mt-Command-Id of a StartRun (a retry lands on the same run). */
  run: 'd51f0c8e-7b3a-4c6d-9e2f-1a8b4c7d0e54',
  /** Command ids the gateway derives from a client's Idempotency-Key. */
  idempotencyKey: '0f6c2b9e-4d1a-4f7e-b3c5-8a2e9d6f1c47',
} as const;

/** The id of the `what` a command creates, stable across retries of that command. */
export function commandScopedId(commandId: string, what: string): string {
  return nameBasedUuid(ID_NAMESPACES.command, `${commandId}/${what}`);
}

/** Normal form of a name used as a key: trimmed, case-folded, inner spaces collapsed. */
export function normaliseName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Dataset id from its project and name (names are unique within a project). */
export function datasetIdFor(projectId: string | null, name: string): string {
  return nameBasedUuid(ID_NAMESPACES.dataset, `${projectId ?? '-'}/${normaliseName(name)}`);
}

/** Dataset version id from its dataset and content digest (the same bytes are the same version). */
export function datasetVersionIdFor(datasetId: string, digest: string): string {
  return nameBasedUuid(ID_NAMESPACES.datasetVersion, `${datasetId}/${digest.toLowerCase()}`);
}
