import type { AnnexIvPoint, ModelCardHeading } from './audit.frameworks';

/** The format name a report carries; the verifier refuses any other. */
export const AUDIT_REPORT_FORMAT = 'modeltrail.audit-report.v1';

/** How a report's digest is made (the text is in every report, for a reader without this code). */
export const DIGEST_RULE =
  'SHA-256 (hex) of canonicalJson(report without its "digest" field): JSON with object keys sorted by UTF-16 code units, no whitespace, undefined members left out (libs/eventstore/src/hashing.ts canonicalJson)';

/** An event a claim rests on: where it is in the store. The full event is in the report's `events`. */
export interface Evidence {
  eventId: string;
  stream: string;
  revision: number;
  position: number;
  type: string;
}

/** A statement of the report and the events it rests on. */
export interface Claim {
  text: string;
  evidence: Evidence[];
}

/** Something missing or failed, said in a sentence; evidence where an event shows it (a failed gate). */
export type Gap = Claim;

export type AuditSectionId = 'problem' | 'data' | 'training' | 'model' | 'evaluation' | 'approvals' | 'deployment';

export interface AuditSection {
  id: AuditSectionId;
  title: string;
  /** Model card headings (Mitchell et al. 2019) this section serves. */
  modelCard: ModelCardHeading[];
  /** EU AI Act Annex IV points this section serves. */
  annexIV: AnnexIvPoint[];
  claims: Claim[];
  gaps: Gap[];
}

/** One cited event in full (every field its hash and leaf cover) with its inclusion proof. */
export interface AuditEvent {
  id: string;
  stream: string;
  revision: number;
  position: number;
  type: string;
  data: unknown;
  metadata: { actor: string; correlationId: string; causationId: string | null; occurredAt: string; prevHash: string; hash: string };
  /** Its leaf in the Merkle log and the audit path to the checkpoint's root (RFC 6962 §2.1.1), hex. */
  leafIndex: number;
  leafHash: string;
  proof: string[];
}

export interface AuditReport {
  format: typeof AUDIT_REPORT_FORMAT;
  generatedAt: string;
  /** The store position the report is as of (the lineage graph's, when it was made). */
  position: number;
  subject: {
    modelVersionId: string;
    modelId: string | null;
    modelName: string | null;
    version: number | null;
    projectId: string | null;
    projectName: string | null;
  };
  frameworks: {
    modelCard: { source: string; headings: string[] };
    annexIV: { source: string; points: Array<{ point: string; summary: string }> };
  };
  sections: AuditSection[];
  /** Headings and points no section of this report serves (the event store holds no evidence for them). */
  notCovered: { modelCard: string[]; annexIV: string[] };
  /** Every cited event, in position order. */
  events: AuditEvent[];
  /** The log's identity and the key its checkpoints are signed with. */
  log: { origin: string; keyName: string; publicKey: string; verifierKey: string };
  /** How to check the report offline. */
  verification: { command: string; digestRule: string };
  /** The signed checkpoint every proof of `events` leads to (c2sp.org/tlog-checkpoint note). */
  checkpoint: { note: string; treeSize: number; rootHash: string; madeAt: string };
  /** SHA-256 over canonicalJson of the report without this field (see DIGEST_RULE). */
  digest: { algorithm: 'sha256'; rule: string; value: string };
}
