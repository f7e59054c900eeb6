import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { AUDIT_REPORT_FORMATS, EXPLAIN_STAGES, LINEAGE_DIRECTIONS, LOG_PROBLEM_KINDS } from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection, PageInfo } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';

export const LineageDirectionEnum = enumOf(LINEAGE_DIRECTIONS);
registerEnumType(LineageDirectionEnum, {
  name: 'LineageDirection',
  description: 'UPSTREAM: what it was made from, with or because of; DOWNSTREAM: what was made from it; BOTH: the two walks from the root.',
});
export const ExplainStageEnum = enumOf(EXPLAIN_STAGES);
registerEnumType(ExplainStageEnum, { name: 'ExplainStage', description: 'The lifecycle stage a step of an explanation belongs to.' });
export const LogProblemKindEnum = enumOf(LOG_PROBLEM_KINDS);
registerEnumType(LogProblemKindEnum, {
  name: 'LogProblemKind',
  description:
    'ALTERED: the stored event differs from the one logged at its position; MISSING: a logged event is no longer stored; INSERTED: the store has an event the log passed over; CHECKPOINT_MISMATCH: the logged leaves do not give a signed root; CHECKPOINT_SIGNATURE: a stored checkpoint fails its signature.',
});

export const AuditReportFormatEnum = enumOf(AUDIT_REPORT_FORMATS);
registerEnumType(AuditReportFormatEnum, { name: 'AuditReportFormat', description: 'JSON: the document an auditor verifies offline (npm run verify); MARKDOWN and HTML: the same report to read.' });

@ObjectType({ description: 'An audit report of a model version, in one format. Also downloadable: GET /audit-reports/<modelVersionId>?format=json|markdown|html.' })
export class AuditReportDocument {
  @Field(() => AuditReportFormatEnum)
  format!: string;

  @Field()
  contentType!: string;

  @Field()
  fileName!: string;

  @Field({ description: "SHA-256 (hex) the JSON report carries over itself." })
  digest!: string;

  @Field({ description: 'The document itself.' })
  body!: string;
}

@InputType({ description: 'A past moment: exactly one of a time or a store position.' })
export class AsOfInput {
  @Field(() => DateTimeScalar, { nullable: true, description: 'The graph as it stood at this time (not in the future).' })
  time?: string | null;

  @Field(() => Float, { nullable: true, description: 'The graph as it stood after the event at this global position.' })
  position?: number | null;
}

@ObjectType({ description: 'An entity in the lineage graph, as it stood at the moment asked about.' })
export class LineageNode {
  @Field(() => ID, { description: 'The entity id; people are actor:<name>, aliases alias:<modelId>:<alias>, artifacts artifact:<runId>:<name>.' })
  id!: string;

  @Field({ description: 'project, dataset, dataset_version, validation, split, experiment, run, artifact, job, agent, sweep, model, model_version, promotion, alias, deployment, monitor, alert, retrain or actor.' })
  kind!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true })
  projectId!: string | null;

  @Field(() => JSONScalar, { description: 'Facts fixed when it was created (digests, version numbers, GPUs).' })
  attributes!: Record<string, unknown>;

  @Field(() => Int, { description: 'Distance from the root (0 for the root).' })
  depth!: number;

  @Field({ description: 'ROOT, or the walk (UPSTREAM, DOWNSTREAM) that reached it.' })
  direction!: string;

  @Field(() => Float, { description: 'Global position of the event that brought it into the graph.' })
  createdPosition!: number;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field({ description: 'Who (or which service) caused its creation (people are nodes only where they decided: requested, approved, rejected).' })
  createdBy!: string;

  @Field(() => Float, { nullable: true, description: 'Set once it ended (archived, resolved, declined) at or before the moment asked about.' })
  endedPosition!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  endedAt!: string | null;

  @Field(() => String, { nullable: true })
  endReason!: string | null;

  /** Set on a node of a project the caller has no role in (see LineageNodeResolver.redacted). */
  redacted?: boolean;
}

@ObjectType({ description: 'A relation between two entities, from upstream (`from`) to downstream (`to`); it reads "<to> TYPE <from>".' })
export class LineageEdge {
  @Field(() => ID)
  from!: string;

  @Field(() => ID)
  to!: string;

  @Field({ description: 'BELONGS_TO, VERSION_OF, DERIVED_FROM, VALIDATES, SPLITS, PART_OF, TRAINED_ON, EXECUTED_BY, EXECUTED_ON, TRIAL_OF, PRODUCED_BY, PACKAGES, PROMOTES, GATED_ON, REQUESTED_BY, APPROVED_BY, REJECTED_BY, POINTS_TO, ASSIGNED_BY, DEPLOYS, REFERENCES, MONITORS, RAISED_BY, PROPOSED_BY, TRIGGERED_BY.' })
  type!: string;

  @Field(() => JSONScalar)
  attributes!: Record<string, unknown>;

  @Field(() => Float, { description: 'Position of the event that first drew it.' })
  createdPosition!: number;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field()
  createdBy!: string;

  @Field(() => ID, { description: 'The event that first drew it.' })
  createdEventId!: string;

  @Field(() => Float, { nullable: true })
  endedPosition!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  endedAt!: string | null;
}

@ObjectType({ description: "One page of an entity's lineage as of one moment: later pages keep the same position (one snapshot)." })
export class LineageGraph {
  @Field(() => Float, { description: 'The store position the answer is as of.' })
  position!: number;

  @Field(() => LineageNode)
  root!: LineageNode;

  @Field(() => [LineageNode], { description: 'Nodes of this page, by depth then id (the root first).' })
  nodes!: LineageNode[];

  @Field(() => [LineageEdge], { description: 'Edges whose later node is on this page: every edge comes once, with both its ends delivered.' })
  edges!: LineageEdge[];

  @Field(() => Int)
  totalNodes!: number;

  @Field(() => Int)
  totalEdges!: number;

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'One stored event, as a timeline or an explanation shows it.' })
export class LineageEvent {
  @Field(() => ID)
  eventId!: string;

  @Field()
  type!: string;

  @Field()
  stream!: string;

  @Field(() => Int)
  revision!: number;

  @Field(() => Float)
  position!: number;

  @Field(() => DateTimeScalar)
  occurredAt!: string;

  @Field()
  actor!: string;

  @Field()
  correlationId!: string;

  @Field(() => String, { nullable: true })
  causationId!: string | null;

  @Field(() => ID, { description: 'The entity the event is about.' })
  nodeId!: string;

  @Field(() => String, { nullable: true })
  nodeKind!: string | null;
}

@ObjectType({ description: 'What happened to an entity and its neighbours, oldest first.' })
export class Timeline {
  @Field(() => Float)
  position!: number;

  @Field(() => [LineageEvent])
  nodes!: LineageEvent[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'One step of a causal explanation.' })
export class ExplainStep extends LineageEvent {
  @Field(() => ExplainStageEnum)
  stage!: string;

  @Field()
  summary!: string;

  @Field(() => Int, { nullable: true, description: 'Index (in `steps`) of the step whose event caused this one.' })
  causedByStep!: number | null;

  @Field(() => Int, { nullable: true, description: 'Index of the first step of the same flow (correlation id: one request and what it set off), when that is an earlier step.' })
  flowStartStep!: number | null;
}

@ObjectType({ description: "Why a model version or deployment is in its current state: the causal chain of events behind it, oldest first." })
export class Explanation {
  @Field(() => Float)
  position!: number;

  @Field(() => LineageNode)
  subject!: LineageNode;

  @Field(() => [ExplainStep])
  steps!: ExplainStep[];

  @Field(() => [ExplainStageEnum], { description: 'Lifecycle stages with no step (a model never deployed has no deployment).' })
  missingStages!: string[];
}

@ObjectType({ description: 'A signed statement of the log: it had treeSize events with this root (c2sp.org/tlog-checkpoint).' })
export class LogCheckpoint {
  @Field(() => Float)
  treeSize!: number;

  @Field({ description: 'Hex SHA-256 root of the RFC 6962 Merkle tree over the first treeSize events.' })
  rootHash!: string;

  @Field(() => DateTimeScalar)
  madeAt!: string;

  @Field({ description: 'The signed note: keep it, and verify it with the published key.' })
  note!: string;

  @Field()
  keyName!: string;
}

@ObjectType()
export class LogCheckpointConnection extends Connection(LogCheckpoint) {}

@ObjectType({ description: "The log's identity and the Ed25519 key its checkpoints are signed with." })
export class LogKey {
  @Field()
  origin!: string;

  @Field()
  keyName!: string;

  @Field({ description: 'Base64 raw Ed25519 public key.' })
  publicKey!: string;

  @Field({ description: 'The note verifier key: <name>+<hex key hash>+<base64 key>.' })
  verifierKey!: string;
}

@ObjectType({ description: 'Proof that an event is leaf leafIndex of the tree of treeSize events (RFC 6962 §2.1.1).' })
export class InclusionProof {
  @Field(() => ID)
  eventId!: string;

  @Field(() => Float)
  position!: number;

  @Field(() => Float)
  leafIndex!: number;

  @Field(() => Float)
  treeSize!: number;

  @Field({ description: 'Hex SHA-256(0x00 ‖ canonical event).' })
  leafHash!: string;

  @Field(() => [String], { description: 'Hex sibling hashes from the leaf up.' })
  proof!: string[];

  @Field()
  rootHash!: string;

  @Field(() => LogCheckpoint, { nullable: true, description: 'The signed checkpoint of treeSize, when one was published at that size.' })
  checkpoint!: LogCheckpoint | null;
}

@ObjectType({ description: 'Proof that the tree of toSize events extends the tree of fromSize events (RFC 6962 §2.1.2): the log only grew.' })
export class ConsistencyProof {
  @Field(() => Float)
  fromSize!: number;

  @Field(() => Float)
  toSize!: number;

  @Field()
  fromRoot!: string;

  @Field()
  toRoot!: string;

  @Field(() => [String])
  proof!: string[];

  @Field(() => LogCheckpoint, { nullable: true })
  fromCheckpoint!: LogCheckpoint | null;

  @Field(() => LogCheckpoint, { nullable: true })
  toCheckpoint!: LogCheckpoint | null;
}

@ObjectType()
export class LogProblem {
  @Field(() => LogProblemKindEnum)
  kind!: string;

  @Field(() => Float, { nullable: true, description: 'Store position of the event concerned.' })
  position!: number | null;

  @Field(() => Float, { nullable: true })
  leafIndex!: number | null;

  @Field(() => String, { nullable: true })
  eventId!: string | null;

  @Field()
  detail!: string;
}

@ObjectType({ description: 'The whole store checked against the log, and the log against its signed checkpoints.' })
export class LogVerification {
  @Field()
  ok!: boolean;

  @Field(() => Float)
  treeSize!: number;

  @Field(() => Float)
  position!: number;

  @Field(() => Int)
  eventsChecked!: number;

  @Field(() => Int)
  checkpointsChecked!: number;

  @Field(() => [LogProblem], { description: 'The first problems, in position order (at most 100).' })
  problems!: LogProblem[];

  @Field(() => Int)
  problemCount!: number;

  @Field(() => Float, { nullable: true, description: 'The first position where the store and the log disagree.' })
  firstBadPosition!: number | null;
}
