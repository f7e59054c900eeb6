import { PageInfo } from './datasets';
import { defineRpc } from './rpc';
import { z } from './schema';

/**
 * Contracts of the `lineage` context (read side only, DESIGN §6): the lineage graph of every
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
} as const;
