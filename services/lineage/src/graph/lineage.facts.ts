import type { EventMap, EventType } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';

/**
 * What one event says about the lineage graph (pure): the nodes it brings into being, the
 * edges it draws, the edges it ends and the nodes it ends. The projection folds these facts
 * into tables with valid-from/valid-to positions; the property test replays them naively as
 * its oracle. Nothing here reads a clock, a table or another event.
 *
 * Orientation: an edge goes from the UPSTREAM node (what the other was made from, with, or
 * because of) to the DOWNSTREAM one, and its type reads "<to> TYPE <from>": a run TRAINED_ON a
 * dataset version, a model version PRODUCED_BY a run, an alias POINTS_TO a model version.
 */

export const NODE_KINDS = [
  'project',
  'dataset',
  'dataset_version',
  'validation',
  'split',
  'experiment',
  'run',
  'artifact',
  'job',
  'agent',
  'sweep',
  'model',
  'model_version',
  'promotion',
  'alias',
  'deployment',
  'monitor',
  'alert',
  'retrain',
  'actor',
] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** Every edge type, with the sentence it stands for (`to` TYPE `from`). */
export const EDGE_TYPES = {
  BELONGS_TO: 'the dataset, experiment or model belongs to the project; the run to its experiment; the alias to its model',
  VERSION_OF: 'the dataset version is a version of the dataset; the model version of the model',
  DERIVED_FROM: 'the dataset version was derived (cleaned, filtered, split) from the parent version',
  VALIDATES: 'the validation checked the dataset version',
  SPLITS: 'the split divided the dataset version',
  PART_OF: 'the dataset version is one part (train, validation, test) of the split',
  TRAINED_ON: 'the run read the dataset version, in the role the edge names',
  EXECUTED_BY: 'the run was executed by the training job',
  EXECUTED_ON: 'the job ran on the agent (one edge per agent it was assigned to)',
  TRIAL_OF: 'the job is a trial of the sweep',
  PRODUCED_BY: 'the artifact or model version was produced by the run',
  PACKAGES: 'the model version packages the artifact',
  PROMOTES: 'the promotion request asks to promote the model version',
  GATED_ON: 'the promotion request checked the validation in its dataset gate',
  REQUESTED_BY: 'the promotion request was made by the person',
  APPROVED_BY: 'the promotion or retraining was approved by the person',
  REJECTED_BY: 'the promotion or retraining was rejected (or declined) by the person',
  POINTS_TO: 'the alias points to the model version (ends when the alias moves)',
  ASSIGNED_BY: 'the alias was moved by the approved promotion request (ends when the alias moves again)',
  DEPLOYS: 'the deployment serves the model version',
  REFERENCES: 'the deployment measures drift against the dataset version',
  MONITORS: 'the monitor watches the deployment',
  RAISED_BY: 'the alert was raised by the monitor',
  PROPOSED_BY: 'the retraining was proposed by the monitor',
  TRIGGERED_BY: 'the retraining was triggered by the alert; the job by the retraining',
} as const;
export type EdgeType = keyof typeof EDGE_TYPES;

export interface NodeFact {
  id: string;
  kind: NodeKind;
  name: string | null;
  projectId: string | null;
  /** Facts fixed at creation (digests, version numbers, roles), shown with the node. */
  attributes: Record<string, unknown>;
}

export interface NodeRef {
  id: string;
  kind: NodeKind;
}

export interface EdgeFact {
  from: NodeRef;
  to: NodeRef;
  type: EdgeType;
  attributes: Record<string, unknown>;
}

export interface EdgeKey {
  fromId: string;
  type: EdgeType;
  toId: string;
}

export interface LineageFacts {
  /** Nodes this event creates (the event's actor is their creator: `createdBy` on the node). */
  nodes: NodeFact[];
  /** Edges it draws (an edge to a node not seen yet brings that node in as a reference). */
  edges: EdgeFact[];
  /** Edges it ends, by key (an alias moving away from a version). */
  ends: EdgeKey[];
  /** Nodes it ends: archived, resolved. They stay in the graph (history), marked ended. */
  endsNodes: Array<{ id: string; reason: string }>;
  /** Nodes the event is about: declared, ended, or changed by it. */
  subjects: string[];
  /**
   * Other nodes it concerns (the ends of the edges it draws, an agent a job ran on). Not kept in
   * the timelines: each is a neighbour of a subject by the edge, so a neighbour's timeline finds
   * the event through that subject.
   */
  related: string[];
}

export const actorNodeId = (actor: string): string => `actor:${actor}`;
export const aliasNodeId = (modelId: string, alias: string): string => `alias:${modelId}:${alias}`;
export const artifactNodeId = (runId: string, name: string): string => `artifact:${runId}:${name}`;

type Recorded<K extends EventType> = RecordedEvent<K, EventMap[K]>;
type Handler<K extends EventType> = (event: Recorded<K>, f: FactsBuilder) => void;

/** The event types the lineage graph reads; any other event says nothing about it. */
const handlers: { [K in EventType]?: Handler<K> } = {
  // ---- datasets ----
  'datasets.DatasetRegistered.v1': ({ data: d }, f) => {
    f.node('dataset', d.datasetId, d.name, d.projectId, {});
    if (d.projectId) f.edge({ id: d.projectId, kind: 'project' }, { id: d.datasetId, kind: 'dataset' }, 'BELONGS_TO');
  },
  'datasets.DatasetDescriptionChanged.v1': ({ data: d }, f) => f.touch(d.datasetId),
  'datasets.DatasetArchived.v1': ({ data: d }, f) => f.end(d.datasetId, `archived: ${d.reason}`),
  'datasets.DatasetVersionRegistered.v1': ({ data: d }, f) => {
    f.node('dataset_version', d.datasetVersionId, null, null, { datasetId: d.datasetId, uri: d.uri, format: d.format, digest: d.digest, size: d.size, rows: d.rows });
    f.edge({ id: d.datasetId, kind: 'dataset' }, { id: d.datasetVersionId, kind: 'dataset_version' }, 'VERSION_OF');
  },
  'datasets.DatasetVersionDerived.v1': ({ data: d }, f) => {
    for (const parent of d.parentVersionIds) {
      f.edge({ id: parent, kind: 'dataset_version' }, { id: d.datasetVersionId, kind: 'dataset_version' }, 'DERIVED_FROM', { transform: d.transform });
    }
  },
  'datasets.DatasetValidated.v1': ({ data: d }, f) => {
    f.node('validation', d.validationId, null, null, { passed: d.report.passed, rowsChecked: d.report.rowsChecked, rules: d.rules.length });
    f.edge({ id: d.datasetVersionId, kind: 'dataset_version' }, { id: d.validationId, kind: 'validation' }, 'VALIDATES');
  },
  'datasets.DatasetSplitCreated.v1': ({ data: d }, f) => {
    f.node('split', d.splitId, null, null, { seed: d.seed, fractions: d.fractions, stratifyBy: d.stratifyBy });
    f.edge({ id: d.datasetVersionId, kind: 'dataset_version' }, { id: d.splitId, kind: 'split' }, 'SPLITS');
    for (const part of ['train', 'validation', 'test'] as const) {
      f.edge({ id: d.splitId, kind: 'split' }, { id: d.parts[part].datasetVersionId, kind: 'dataset_version' }, 'PART_OF', { part, rows: d.parts[part].rows });
    }
  },
  // ---- experiments ----
  'experiments.ProjectDefined.v1': ({ data: d }, f) => f.node('project', d.projectId, d.name, d.projectId, { taskType: d.taskType, target: d.target, successCriteria: d.successCriteria }),
  'experiments.ExperimentCreated.v1': ({ data: d }, f) => {
    f.node('experiment', d.experimentId, d.name, d.projectId, {});
    f.edge({ id: d.projectId, kind: 'project' }, { id: d.experimentId, kind: 'experiment' }, 'BELONGS_TO');
  },
  'experiments.RunStarted.v1': ({ data: d }, f) => {
    f.node('run', d.runId, null, d.projectId, { codeRef: d.codeRef ?? null });
    f.edge({ id: d.experimentId, kind: 'experiment' }, { id: d.runId, kind: 'run' }, 'BELONGS_TO');
    for (const used of d.datasetVersions) f.edge({ id: used.datasetVersionId, kind: 'dataset_version' }, { id: d.runId, kind: 'run' }, 'TRAINED_ON', { role: used.role });
  },
  'experiments.RunArtifactLogged.v1': ({ data: d }, f) => {
    const id = artifactNodeId(d.runId, d.name);
    f.node('artifact', id, d.name, null, { uri: d.uri, digest: d.digest, size: d.size });
    f.edge({ id: d.runId, kind: 'run' }, { id, kind: 'artifact' }, 'PRODUCED_BY');
  },
  'experiments.RunParamsLogged.v1': ({ data: d }, f) => f.touch(d.runId),
  'experiments.RunMetricsSummarized.v1': ({ data: d }, f) => f.touch(d.runId),
  'experiments.RunCompleted.v1': ({ data: d }, f) => f.touch(d.runId),
  'experiments.RunFailed.v1': ({ data: d }, f) => f.touch(d.runId),
  // ---- scheduler ----
  'scheduler.JobQueued.v1': ({ data: d }, f) => {
    f.node('job', d.jobId, null, d.projectId, { command: d.command, resources: d.resources, newRun: d.newRun });
    f.edge({ id: d.jobId, kind: 'job' }, { id: d.runId, kind: 'run' }, 'EXECUTED_BY');
    if (d.sweep) f.edge({ id: d.sweep.sweepId, kind: 'sweep' }, { id: d.jobId, kind: 'job' }, 'TRIAL_OF', { trial: d.sweep.trial });
  },
  'scheduler.JobAssigned.v1': ({ data: d }, f) => f.touch(d.jobId).edge({ id: d.agentId, kind: 'agent' }, { id: d.jobId, kind: 'job' }, 'EXECUTED_ON', { gpus: d.gpus.map((g) => g.uuid) }),
  'scheduler.JobStarted.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobSucceeded.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobFailed.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobCancelRequested.v1': ({ data: d }, f) => f.touch(d.jobId),
  'scheduler.JobCancelled.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobTimedOut.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobLost.v1': ({ data: d }, f) => f.touch(d.jobId).relate(...(d.agentId ? [d.agentId] : [])),
  'scheduler.JobRequeued.v1': ({ data: d }, f) => f.touch(d.jobId),
  'scheduler.JobPriorityChanged.v1': ({ data: d }, f) => f.touch(d.jobId),
  'scheduler.AgentRegistered.v1': ({ data: d }, f) => {
    f.node('agent', d.agentId, d.hostname, null, { gpus: d.gpus.map((g) => ({ uuid: g.uuid, name: g.name, memoryMb: g.memoryMb })) });
    f.touch(d.agentId);
  },
  'scheduler.AgentLost.v1': ({ data: d }, f) => f.touch(d.agentId),
  'scheduler.AgentStopped.v1': ({ data: d }, f) => f.touch(d.agentId),
  'scheduler.SweepSubmitted.v1': ({ data: d }, f) => {
    f.node('sweep', d.sweepId, null, d.projectId, { strategy: d.strategy, maxTrials: d.maxTrials, objective: d.objective });
    f.edge({ id: d.experimentId, kind: 'experiment' }, { id: d.sweepId, kind: 'sweep' }, 'BELONGS_TO');
  },
  'scheduler.SweepCompleted.v1': ({ data: d }, f) => f.touch(d.sweepId),
  'scheduler.SweepCancelled.v1': ({ data: d }, f) => f.touch(d.sweepId),
  'scheduler.RetrainJobRefused.v1': ({ data: d }, f) => f.touch(d.retrainId),
  // ---- registry ----
  'registry.ModelRegistered.v1': ({ data: d }, f) => {
    f.node('model', d.modelId, d.name, d.projectId, {});
    f.edge({ id: d.projectId, kind: 'project' }, { id: d.modelId, kind: 'model' }, 'BELONGS_TO');
  },
  'registry.ModelVersionCreated.v1': ({ data: d }, f) => {
    f.node('model_version', d.modelVersionId, `v${d.version}`, d.projectId, { modelId: d.modelId, version: d.version, artifactDigest: d.artifact.digest });
    f.edge({ id: d.modelId, kind: 'model' }, { id: d.modelVersionId, kind: 'model_version' }, 'VERSION_OF');
    f.edge({ id: d.runId, kind: 'run' }, { id: d.modelVersionId, kind: 'model_version' }, 'PRODUCED_BY');
    f.edge({ id: artifactNodeId(d.runId, d.artifact.name), kind: 'artifact' }, { id: d.modelVersionId, kind: 'model_version' }, 'PACKAGES');
  },
  'registry.ModelCardUpdated.v1': ({ data: d }, f) => f.touch(d.modelVersionId),
  'registry.PromotionRequested.v1': ({ data: d }, f) => {
    f.node('promotion', d.requestId, d.alias, null, { modelId: d.modelId, version: d.version, gatesPassed: d.gates.every((g) => g.passed) });
    f.edge({ id: d.modelVersionId, kind: 'model_version' }, { id: d.requestId, kind: 'promotion' }, 'PROMOTES');
    f.edge({ id: actorNodeId(d.requestedBy), kind: 'actor' }, { id: d.requestId, kind: 'promotion' }, 'REQUESTED_BY');
    for (const gate of d.gates) {
      for (const checked of gate.datasets) {
        if (checked.validationId) f.edge({ id: checked.validationId, kind: 'validation' }, { id: d.requestId, kind: 'promotion' }, 'GATED_ON', { datasetVersionId: checked.datasetVersionId, passed: checked.passed });
      }
    }
  },
  'registry.PromotionApproved.v1': ({ data: d }, f) => f.touch(d.requestId).edge({ id: actorNodeId(d.approvedBy), kind: 'actor' }, { id: d.requestId, kind: 'promotion' }, 'APPROVED_BY'),
  'registry.PromotionRejected.v1': ({ data: d }, f) => f.touch(d.requestId).edge({ id: actorNodeId(d.rejectedBy), kind: 'actor' }, { id: d.requestId, kind: 'promotion' }, 'REJECTED_BY', { reason: d.reason }),
  'registry.AliasAssigned.v1': ({ data: d }, f) => {
    // The alias is not declared: it comes in with its first edge, named by its id.
    const alias = { id: aliasNodeId(d.modelId, d.alias), kind: 'alias' as const };
    f.edge({ id: d.modelId, kind: 'model' }, alias, 'BELONGS_TO');
    if (d.previousModelVersionId && d.previousModelVersionId !== d.modelVersionId) f.endEdge(d.previousModelVersionId, 'POINTS_TO', alias.id);
    f.edge({ id: d.modelVersionId, kind: 'model_version' }, alias, 'POINTS_TO');
    if (d.requestId) f.edge({ id: d.requestId, kind: 'promotion' }, alias, 'ASSIGNED_BY');
    f.touch(d.modelVersionId);
  },
  'registry.ModelVersionArchived.v1': ({ data: d }, f) => f.end(d.modelVersionId, `archived: ${d.reason}`),
  // ---- monitoring ----
  'monitoring.ModelDeployed.v1': ({ data: d }, f) => {
    f.node('deployment', d.deploymentId, d.environment, d.projectId, { endpoint: d.endpoint, modelId: d.modelId, version: d.version });
    f.edge({ id: d.modelVersionId, kind: 'model_version' }, { id: d.deploymentId, kind: 'deployment' }, 'DEPLOYS');
  },
  'monitoring.ReferenceProfileSet.v1': ({ data: d }, f) => f.touch(d.deploymentId).edge({ id: d.datasetVersionId, kind: 'dataset_version' }, { id: d.deploymentId, kind: 'deployment' }, 'REFERENCES', { digest: d.digest }),
  'monitoring.MonitorCreated.v1': ({ data: d }, f) => {
    f.node('monitor', d.monitorId, null, d.projectId, {});
    f.edge({ id: d.deploymentId, kind: 'deployment' }, { id: d.monitorId, kind: 'monitor' }, 'MONITORS');
  },
  'monitoring.MonitorConfigured.v1': ({ data: d }, f) => f.touch(d.monitorId),
  'monitoring.DriftMeasured.v1': ({ data: d }, f) => f.touch(d.monitorId),
  'monitoring.PerformanceMeasured.v1': ({ data: d }, f) => f.touch(d.monitorId),
  'monitoring.AlertRaised.v1': ({ data: d }, f) => {
    f.node('alert', d.alertId, d.kind, null, { windows: d.windows, summary: d.summary });
    f.edge({ id: d.monitorId, kind: 'monitor' }, { id: d.alertId, kind: 'alert' }, 'RAISED_BY');
  },
  'monitoring.AlertResolved.v1': ({ data: d }, f) => {
    f.end(d.alertId, 'resolved');
    f.touch(d.monitorId);
  },
  'monitoring.RetrainProposed.v1': ({ data: d }, f) => retrainNode(d, f),
  'monitoring.RetrainRequested.v1': ({ data: d }, f) => {
    // Under the APPROVAL policy the proposal brought the retraining in; AUTO requests at once.
    if (d.policy === 'AUTO') retrainNode(d, f);
    else f.touch(d.retrainId);
    f.edge({ id: d.retrainId, kind: 'retrain' }, { id: d.job.jobId, kind: 'job' }, 'TRIGGERED_BY');
  },
  'monitoring.RetrainApproved.v1': ({ data: d }, f) => f.touch(d.retrainId).edge({ id: actorNodeId(d.approvedBy), kind: 'actor' }, { id: d.retrainId, kind: 'retrain' }, 'APPROVED_BY'),
  'monitoring.RetrainDeclined.v1': ({ data: d }, f) => {
    f.touch(d.retrainId).edge({ id: actorNodeId(d.declinedBy), kind: 'actor' }, { id: d.retrainId, kind: 'retrain' }, 'REJECTED_BY', { reason: d.reason });
    f.end(d.retrainId, `declined: ${d.reason}`);
  },
};

/** A retraining comes into being with its proposal, or with its request when the policy needs none. */
function retrainNode(d: EventMap['monitoring.RetrainProposed.v1'] | EventMap['monitoring.RetrainRequested.v1'], f: FactsBuilder): void {
  f.node('retrain', d.retrainId, null, null, { modelVersionId: d.modelVersionId, datasetChanges: d.datasetChanges });
  f.edge({ id: d.monitorId, kind: 'monitor' }, { id: d.retrainId, kind: 'retrain' }, 'PROPOSED_BY');
  if (d.alertId) f.edge({ id: d.alertId, kind: 'alert' }, { id: d.retrainId, kind: 'retrain' }, 'TRIGGERED_BY');
}

/** Event types the lineage graph reads. */
export const LINEAGE_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(handlers));

/** The facts of one event; an event the graph does not read has none. */
export function lineageFacts(event: RecordedEvent): LineageFacts {
  const facts: LineageFacts = { nodes: [], edges: [], ends: [], endsNodes: [], subjects: [], related: [] };
  const handler = handlers[event.type as EventType] as Handler<EventType> | undefined;
  if (!handler) return facts;
  const builder = new FactsBuilder(facts);
  handler(event as Recorded<EventType>, builder);
  // Who created a node is on the node (createdBy), not an edge: an edge from a person to every
  // node they made would be a third of the graph, walked by every upstream query. People are
  // nodes where they decided something (requested, approved, rejected).
  const subjects = new Set([...facts.subjects, ...facts.nodes.map((n) => n.id), ...facts.endsNodes.map((n) => n.id)]);
  facts.subjects = [...subjects];
  facts.related = [...new Set([...facts.related, ...facts.edges.flatMap((e) => [e.from.id, e.to.id])])].filter((id) => !subjects.has(id));
  return facts;
}

class FactsBuilder {
  constructor(private readonly facts: LineageFacts) {}

  node(kind: NodeKind, id: string, name: string | null, projectId: string | null, attributes: Record<string, unknown>): this {
    this.facts.nodes.push({ id, kind, name, projectId, attributes });
    return this;
  }

  edge(from: NodeRef, to: NodeRef, type: EdgeType, attributes: Record<string, unknown> = {}): this {
    this.facts.edges.push({ from, to, type, attributes });
    return this;
  }

  endEdge(fromId: string, type: EdgeType, toId: string): this {
    this.facts.ends.push({ fromId, type, toId });
    return this;
  }

  end(id: string, reason: string): this {
    this.facts.endsNodes.push({ id, reason });
    return this;
  }

  /** The event is about this node (it shows in the node's causal explanation). */
  touch(...ids: string[]): this {
    this.facts.subjects.push(...ids);
    return this;
  }

  /** The event concerns this node without being about it (an agent a job started on). */
  relate(...ids: string[]): this {
    this.facts.related.push(...ids);
    return this;
  }
}
