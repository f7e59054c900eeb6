import { PageInfo } from './datasets';
import { defineRpc } from './rpc';
import { z } from './schema';

/**
 * Contracts of the `lineage` context (read side only, docs/architecture.md: Lineage): the lineage graph of every
 * entity with valid-from/valid-to positions, causal explanations, timelines, the Merkle log
 * over the store with its signed checkpoints and proofs, audit reports and OpenLineage.
 *
 * Node ids are the entities' own ids (UUIDs), except for people (`actor:<name>`), aliases
 * (`alias:<modelId>:<alias>`) and artifacts (`artifact:<runId>:<name>`).
 */

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00.000Z' });
const nodeId = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

/** The largest depth a caller may ask for; omit the depth for no limit. */
export const MAX_LINEAGE_DEPTH = 1000;
/** The largest page of a lineage answer. */
export const MAX_LINEAGE_PAGE = 1000;

/** A past moment: a time, or a position of the store (exactly one). Absent: now. */
export const AsOf = z
  .object({
    time: isoTime.optional(),
    position: z.number().int('must be a whole number').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((v) => (v.time === undefined) !== (v.position === undefined), { message: 'give exactly one of time and position' });
export type AsOf = z.output<typeof AsOf>;

export const LINEAGE_DIRECTIONS = ['UPSTREAM', 'DOWNSTREAM', 'BOTH'] as const;
export const LineageDirection = z.enum(LINEAGE_DIRECTIONS, { message: `must be one of ${LINEAGE_DIRECTIONS.join(', ')}` });

export const LineageNodeView = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string().nullable(),
  projectId: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  /** Its distance from the root (0 for the root). */
  depth: z.number().int(),
  /** ROOT, or the walk (UPSTREAM, DOWNSTREAM) that reached it. */
  direction: z.enum(['ROOT', 'UPSTREAM', 'DOWNSTREAM']),
  createdPosition: z.number().int(),
  createdAt: isoTime,
  createdBy: z.string(),
  /** Set once it ended (archived, resolved, declined) at or before the moment asked about. */
  endedPosition: z.number().int().nullable(),
  endedAt: isoTime.nullable(),
  endReason: z.string().nullable(),
});
export type LineageNodeView = z.output<typeof LineageNodeView>;

export const LineageEdgeView = z.object({
  /** Upstream: what `to` was made from, with, or because of. */
  from: z.string(),
  to: z.string(),
  /** Reads "<to> TYPE <from>". */
  type: z.string(),
  attributes: z.record(z.string(), z.unknown()),
  createdPosition: z.number().int(),
  createdAt: isoTime,
  createdBy: z.string(),
  createdEventId: z.string(),
  endedPosition: z.number().int().nullable(),
  endedAt: isoTime.nullable(),
});
export type LineageEdgeView = z.output<typeof LineageEdgeView>;

export const LineageRequest = z.object({
  id: nodeId,
  direction: LineageDirection.default('BOTH'),
  /** null: no limit. */
  depth: z
    .number()
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(MAX_LINEAGE_DEPTH, `must be at most ${MAX_LINEAGE_DEPTH} (omit it for no limit)`)
    .nullable()
    .default(null),
  asOf: AsOf.nullable().default(null),
  first: z.number().int().min(1, 'must be at least 1').max(MAX_LINEAGE_PAGE, `must be at most ${MAX_LINEAGE_PAGE}`).default(500),
  after: z.string().min(1).nullable().default(null),
});

export const LineageReply = z.object({
  /** The store position the answer is as of (later pages keep it: one snapshot). */
  position: z.number().int(),
  root: LineageNodeView,
  nodes: z.array(LineageNodeView),
  edges: z.array(LineageEdgeView),
  totalNodes: z.number().int(),
  totalEdges: z.number().int(),
  pageInfo: PageInfo,
});
export type LineageReply = z.output<typeof LineageReply>;

/** One event of a timeline or an explanation. */
export const LineageEventView = z.object({
  eventId: z.string(),
  type: z.string(),
  stream: z.string(),
  revision: z.number().int(),
  position: z.number().int(),
  occurredAt: isoTime,
  actor: z.string(),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  /** The node the event is about (for a timeline: the entity or one of its neighbours). */
  nodeId: z.string(),
  nodeKind: z.string().nullable(),
});
export type LineageEventView = z.output<typeof LineageEventView>;

export const TimelineRequest = z.object({
  id: nodeId,
  asOf: AsOf.nullable().default(null),
  first: z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
  after: z.string().min(1).nullable().default(null),
});
export const TimelineReply = z.object({ position: z.number().int(), items: z.array(LineageEventView), pageInfo: PageInfo });

export const EXPLAIN_STAGES = ['problem', 'data', 'validation', 'split', 'training', 'metrics', 'job', 'model', 'gates', 'approval', 'alias', 'deployment', 'drift', 'alert', 'retrain'] as const;

export const ExplainStep = LineageEventView.extend({
  stage: z.enum(EXPLAIN_STAGES),
  /** A sentence saying what happened. */
  summary: z.string(),
  /** The step (index in `steps`) whose event caused this one, when the cause is in the chain. */
  causedByStep: z.number().int().nullable(),
  /** The first step of the same flow (correlation id: one request and what it set off), when that is an earlier step. */
  flowStartStep: z.number().int().nullable(),
});
export type ExplainStep = z.output<typeof ExplainStep>;

export const ExplainRequest = z.object({ id: nodeId, asOf: AsOf.nullable().default(null) });
export const ExplainReply = z.object({
  position: z.number().int(),
  subject: LineageNodeView,
  steps: z.array(ExplainStep),
  /** Stages of the lifecycle the chain has no step for (a model never deployed has no deployment). */
  missingStages: z.array(z.enum(EXPLAIN_STAGES)),
});
export type ExplainReply = z.output<typeof ExplainReply>;

export const lineageRpc = {
  lineage: defineRpc('mt.qry.lineage.Lineage', LineageRequest, LineageReply),
  timeline: defineRpc('mt.qry.lineage.Timeline', TimelineRequest, TimelineReply),
  explain: defineRpc('mt.qry.lineage.Explain', ExplainRequest, ExplainReply),
  /** The OpenLineage 2-0-2 RunEvents of an experiment run or a scheduler job, in order (null: unknown id). */
  openLineage: defineRpc(
    'mt.qry.lineage.OpenLineage',
    z.object({ runId: z.uuid({ message: 'must be a UUID (a run or job id)' }).transform((v) => v.toLowerCase()) }),
    z.object({ events: z.array(z.record(z.string(), z.unknown())).nullable() }),
  ),
} as const;

// ---------------------------------------------------------------------------------------------
// The log that proves itself: signed checkpoints, inclusion and consistency proofs
// ---------------------------------------------------------------------------------------------

const hex = z.string().regex(/^[0-9a-f]{64}$/);
const treeSize = (field: string) => z.number().int(`${field} must be a whole number`).min(1, `${field} must be at least 1`).max(Number.MAX_SAFE_INTEGER);

export const CheckpointView = z.object({
  treeSize: z.number().int(),
  rootHash: hex,
  madeAt: isoTime,
  /** The signed note (c2sp.org/tlog-checkpoint) with ModelTrail's `time` extension line. */
  note: z.string(),
  keyName: z.string(),
});
export type CheckpointView = z.output<typeof CheckpointView>;

export const LogKeyView = z.object({ origin: z.string(), keyName: z.string(), publicKey: z.string(), verifierKey: z.string() });

export const InclusionProofView = z.object({
  eventId: z.string(),
  position: z.number().int(),
  leafIndex: z.number().int(),
  treeSize: z.number().int(),
  leafHash: hex,
  proof: z.array(hex),
  rootHash: hex,
  checkpoint: CheckpointView.nullable(),
});

export const ConsistencyProofView = z.object({
  fromSize: z.number().int(),
  toSize: z.number().int(),
  fromRoot: hex,
  toRoot: hex,
  proof: z.array(hex),
  fromCheckpoint: CheckpointView.nullable(),
  toCheckpoint: CheckpointView.nullable(),
});

export const LOG_PROBLEM_KINDS = ['ALTERED', 'MISSING', 'INSERTED', 'CHECKPOINT_MISMATCH', 'CHECKPOINT_SIGNATURE'] as const;
export const LogVerificationView = z.object({
  ok: z.boolean(),
  treeSize: z.number().int(),
  position: z.number().int(),
  eventsChecked: z.number().int(),
  checkpointsChecked: z.number().int(),
  problems: z.array(
    z.object({
      kind: z.enum(LOG_PROBLEM_KINDS),
      position: z.number().int().nullable(),
      leafIndex: z.number().int().nullable(),
      eventId: z.string().nullable(),
      detail: z.string(),
    }),
  ),
  problemCount: z.number().int(),
  firstBadPosition: z.number().int().nullable(),
});

export const logRpc = {
  logKey: defineRpc('mt.qry.lineage.LogKey', z.object({}), LogKeyView),
  /** The latest signed checkpoint (one is published first when there is none). */
  latestCheckpoint: defineRpc('mt.qry.lineage.LatestCheckpoint', z.object({}), CheckpointView),
  /** Newest first. */
  listCheckpoints: defineRpc(
    'mt.qry.lineage.ListCheckpoints',
    z.object({ first: z.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(20), after: z.string().min(1).nullable().default(null) }),
    z.object({ items: z.array(CheckpointView), pageInfo: PageInfo }),
  ),
  /** Signs a checkpoint of the log as it stands now (the latest when nothing was added since). */
  publishCheckpoint: defineRpc('mt.cmd.lineage.PublishCheckpoint', z.object({}), CheckpointView),
  inclusionProof: defineRpc(
    'mt.qry.lineage.InclusionProof',
    z.object({ eventId: z.uuid({ message: 'must be a UUID (an event id)' }).transform((v) => v.toLowerCase()), treeSize: treeSize('treeSize').nullable().default(null) }),
    InclusionProofView,
  ),
  consistencyProof: defineRpc('mt.qry.lineage.ConsistencyProof', z.object({ fromSize: treeSize('fromSize'), toSize: treeSize('toSize') }), ConsistencyProofView),
  /** Reads the whole store and the whole log: minutes on a large store. */
  verifyLog: defineRpc('mt.qry.lineage.VerifyLog', z.object({}), LogVerificationView, { timeoutMs: 600_000 }),
} as const;

// ---------------------------------------------------------------------------------------------
// Audit reports
// ---------------------------------------------------------------------------------------------

export const AUDIT_REPORT_FORMATS = ['JSON', 'MARKDOWN', 'HTML'] as const;
export const AuditReportFormat = z.enum(AUDIT_REPORT_FORMATS, { message: `must be one of ${AUDIT_REPORT_FORMATS.join(', ')}` });

export const AuditReportDocument = z.object({
  format: AuditReportFormat,
  contentType: z.string(),
  /** A file name to save it under: modeltrail-audit-<modelVersionId>.<json|md|html>. */
  fileName: z.string(),
  /** SHA-256 (hex) the JSON report carries over itself (the same for every format of one report). */
  digest: hex,
  /** The document: the JSON report (what `npm run verify` checks), or its Markdown or HTML rendering. */
  body: z.string(),
  /**
   * How `body` travels over NATS: as is, or gzip then base64 when it is large (a report carries
   * every cited event in full; a NATS message is 1 MB by default), which the gateway undoes.
   */
  encoding: z.enum(['identity', 'gzip+base64']).default('identity'),
});
export type AuditReportDocument = z.output<typeof AuditReportDocument>;

export const auditRpc = {
  /** Reads every stream of the version's story and proves each cited event against a fresh checkpoint. */
  auditReport: defineRpc(
    'mt.qry.lineage.AuditReport',
    z.object({ modelVersionId: z.uuid({ message: 'must be a UUID (a model version id)' }).transform((v) => v.toLowerCase()), format: AuditReportFormat.default('JSON') }),
    AuditReportDocument,
    { timeoutMs: 120_000 },
  ),
} as const;
