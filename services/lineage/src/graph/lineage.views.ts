import {
  type AsOf,
  EXPLAIN_STAGES,
  type ExplainReply,
  type ExplainStep,
  type LineageEdgeView,
  type LineageEventView,
  type LineageNodeView,
  type LineageReply,
  ValidationError,
  type z,
  LineageRequest,
  TimelineRequest,
  TimelineReply,
} from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import type { ProjectionRunner } from '@modeltrail/readmodel';
import { decodeNumberCursor, encodeNumberCursor } from '@modeltrail/readmodel';
import { decodeLineageCursor, edgeKeyOf, encodeLineageCursor, type LineageReader, type Placed, requireNode, type WalkEdge, walkFingerprint } from './lineage.reader';
import type { LineageEdgeRow, LineageEventRow, LineageNodeRow } from './lineage.tables';

type Stage = (typeof EXPLAIN_STAGES)[number];

/** How long a query about a position the store has but the graph has not reached yet waits for it. */
const CATCH_UP_WAIT_MS = 10_000;

/**
 * The lineage service's answers: walks as of any moment, timelines and causal explanations,
 * over the graph tables (LineageReader), as of positions the projection has reached.
 */
export class LineageViews {
  constructor(
    readonly reader: LineageReader,
    private readonly store: EventStore,
    private readonly runner: Pick<ProjectionRunner, 'position' | 'waitFor'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The store position `asOf` names (now: the last position the graph reflects). */
  async positionOf(asOf: AsOf | null): Promise<number> {
    if (!asOf) return this.runner.position;
    if (asOf.position !== undefined) {
      if (asOf.position > this.runner.position) {
        const head = await this.store.headPosition();
        if (asOf.position > head) throw new ValidationError(`asOf.position ${asOf.position} is beyond the end of the log (its last position is ${head})`, { field: 'asOf.position', head });
        await this.runner.waitFor(asOf.position, CATCH_UP_WAIT_MS);
      }
      return asOf.position;
    }
    const time = new Date(asOf.time!);
    if (time.getTime() > this.now().getTime()) throw new ValidationError(`asOf.time ${asOf.time} is in the future`, { field: 'asOf.time' });
    return this.reader.positionAtTime(time);
  }

  /**
   * The node at the position asked about. Asked about now, a node the graph does not have yet
   * may have been created a moment ago: the answer then waits for the graph to reach the
   * store's head before calling it missing.
   */
  private async rootAt(id: string, asOf: AsOf | null, position: number): Promise<{ node: LineageNodeRow; position: number }> {
    const node = await this.reader.node(id, position);
    if (node) return { node, position };
    if (!asOf) {
      const head = await this.store.headPosition();
      if (head > position) {
        await this.runner.waitFor(head, CATCH_UP_WAIT_MS);
        const later = await this.reader.node(id, this.runner.position);
        if (later) return { node: later, position: this.runner.position };
      }
    }
    return { node: requireNode<LineageNodeRow>(null, id, position), position };
  }

  async lineage(req: z.output<typeof LineageRequest>): Promise<LineageReply> {
    const walk = walkFingerprint({ rootId: req.id, direction: req.direction, depth: req.depth });
    const cursor = req.after ? decodeLineageCursor(req.after, walk) : null;
    if (cursor && req.asOf) {
      // The cursor holds the snapshot's position; an asOf must agree with it.
      const asked = await this.positionOf(req.asOf);
      if (asked !== cursor.position) throw new ValidationError(`cursor was taken as of position ${cursor.position}, not ${asked}`, { field: 'after' });
    }
    const { node: root, position } = await this.rootAt(req.id, cursor ? { position: cursor.position } : req.asOf, cursor ? cursor.position : await this.positionOf(req.asOf));
    const traversal = await this.reader.traverse({ rootId: req.id, direction: req.direction, depth: req.depth, position });
    const start = cursor ? cursor.index + 1 : 0;
    if (start > traversal.nodes.length) throw new ValidationError(`cursor "${req.after}" is past the end of this lineage`, { field: 'after' });
    const placed = traversal.nodes.slice(start, start + req.first);
    const end = start + placed.length; // exclusive
    const rows = new Map((await this.reader.nodes(placed.map((p) => p.id), position)).map((n) => [n.id, n]));
    const nodes = placed.map((p) => nodeView(rows.get(p.id) ?? missingNode(p.id), p));
    const pageEdges = traversal.edges.filter((e) => e.order >= start && e.order < end).map((e) => e.edge);
    const edgeRows = await this.reader.edgeRows(pageEdges, position);
    const edges = pageEdges.map((e) => edgeView(edgeRows.get(edgeKeyOf(e)) ?? missingEdge(e)));
    const hasNextPage = end < traversal.nodes.length;
    return {
      position,
      root: nodeView(root, { id: root.id, depth: 0, direction: 'ROOT' }),
      nodes,
      edges,
      totalNodes: traversal.nodes.length,
      totalEdges: traversal.edges.length,
      pageInfo: { endCursor: placed.length > 0 ? encodeLineageCursor(position, end - 1, walk) : (req.after ?? null), hasNextPage },
    };
  }

  async timeline(req: z.output<typeof TimelineRequest>): Promise<z.output<typeof TimelineReply>> {
    const { position } = await this.rootAt(req.id, req.asOf, await this.positionOf(req.asOf));
    const after = req.after ? decodeNumberCursor(req.after) : 0;
    const rows = await this.reader.timeline(req.id, position, after, req.first + 1);
    const page = rows.slice(0, req.first);
    const kinds = await this.kindsOf(page.map((r) => r.nodeId), position);
    const last = page[page.length - 1];
    return { position, items: page.map((r) => eventView(r, kinds)), pageInfo: { endCursor: last ? encodeNumberCursor(last.position) : null, hasNextPage: rows.length > req.first } };
  }

  /**
   * The causal chain behind a model version's or deployment's state: every event about its
   * ancestry (data, validations, splits, runs, jobs, agents, the problem definition) and about
   * what followed from it (promotions and their gates, approvals, aliases, deployments,
   * monitors, alerts, retrainings), oldest first, each linked to the step that caused it.
   * Measurements appear only where they caused something (an alert, a retraining).
   */
  async explain(req: { id: string; asOf: AsOf | null }): Promise<ExplainReply> {
    const { node: subject, position } = await this.rootAt(req.id, req.asOf, await this.positionOf(req.asOf));
    const up = await this.reader.traverse({ rootId: req.id, direction: 'UPSTREAM', depth: null, position });
    const down = await this.reader.traverse({ rootId: req.id, direction: 'DOWNSTREAM', depth: null, position });
    // The walks' nodes, read once: kinds decide what follows and which steps are which.
    const known = new Map((await this.reader.nodes([...new Set([...up.nodes, ...down.nodes].map((n) => n.id))], position)).map((n) => [n.id, n]));
    const downIds = followers(down.edges.map((e) => e.edge), req.id, known);
    // Beside the walks: the promotions and alias moves of every model version in the chain
    // (a deployment's version was approved before it was deployed), the validations those
    // promotions' gates read, and every validation of the chain's dataset versions.
    const upRows = up.nodes.map((n) => known.get(n.id)!);
    const versions = upRows.filter((n) => n.kind === 'model_version').map((n) => n.id);
    const promoted = (await this.reader.edgesAt(versions, ['PROMOTES', 'POINTS_TO'], 'from', position)).map((e) => e.toId);
    const gated = (await this.reader.edgesAt(promoted, ['GATED_ON'], 'to', position)).map((e) => e.fromId);
    const dataVersions = upRows.filter((n) => n.kind === 'dataset_version').map((n) => n.id);
    const validations = (await this.reader.edgesAt(dataVersions, ['VALIDATES'], 'from', position)).map((e) => e.toId);
    const ids = [...new Set([...up.nodes.map((n) => n.id), ...downIds, ...promoted, ...gated, ...validations])].filter((id) => !id.startsWith('actor:'));
    const events = await this.reader.eventsAbout(ids, position);
    const causes = new Set(events.map((e) => e.causationId).filter((c): c is string => c !== null));
    const kept = events.filter((e) => !MEASUREMENTS.has(e.type) || causes.has(e.eventId));
    const kinds = new Map([...known.values()].map((n) => [n.id, n.kind]));
    for (const [id, kind] of await this.kindsOf(kept.map((e) => e.nodeId).filter((id) => !kinds.has(id)), position)) kinds.set(id, kind);
    const indexOf = new Map(kept.map((e, i) => [e.eventId, i]));
    const flowStart = new Map<string, number>();
    kept.forEach((e, i) => {
      if (!flowStart.has(e.correlationId)) flowStart.set(e.correlationId, i);
    });
    const steps: ExplainStep[] = kept.map((e, i) => ({
      ...eventView(e, kinds),
      stage: stageOf(e.type),
      summary: summaryOf(e, kinds.get(e.nodeId) ?? null),
      causedByStep: e.causationId !== null ? (indexOf.get(e.causationId) ?? null) : null,
      flowStartStep: flowStart.get(e.correlationId) !== i ? flowStart.get(e.correlationId)! : null,
    }));
    const present = new Set(steps.map((s) => s.stage));
    const expected = EXPECTED_STAGES[subject.kind] ?? [];
    return {
      position,
      subject: nodeView(subject, { id: subject.id, depth: 0, direction: 'ROOT' }),
      steps,
      missingStages: expected.filter((stage) => !present.has(stage)),
    };
  }

  private async kindsOf(ids: string[], position: number): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.reader.nodes([...new Set(ids)], position);
    return new Map(rows.map((r) => [r.id, r.kind]));
  }
}

/**
 * What followed from the subject and belongs to its story: the downstream walk cut where the
 * next model's story starts (a retraining's job, run and new version belong to that version).
 */
function followers(edges: WalkEdge[], rootId: string, nodes: ReadonlyMap<string, LineageNodeRow>): string[] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.fromId, [...(next.get(e.fromId) ?? []), e.toId]);
  const kept = new Set([rootId]);
  const queue = [rootId];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const to of next.get(id) ?? []) {
      if (kept.has(to) || !FOLLOWER_KINDS.has(nodes.get(to)?.kind ?? '')) continue;
      kept.add(to);
      queue.push(to);
    }
  }
  return [...kept];
}

/** Kinds that follow from a model version or deployment within its own story. */
const FOLLOWER_KINDS = new Set(['promotion', 'alias', 'deployment', 'monitor', 'alert', 'retrain']);
const MEASUREMENTS = new Set(['monitoring.DriftMeasured.v1', 'monitoring.PerformanceMeasured.v1']);

const EXPECTED_STAGES: Record<string, Stage[]> = {
  model_version: ['problem', 'data', 'validation', 'training', 'metrics', 'model', 'gates', 'approval', 'alias'],
  deployment: ['problem', 'data', 'validation', 'training', 'metrics', 'model', 'gates', 'approval', 'alias', 'deployment'],
};

const STAGE_BY_TYPE: Record<string, Stage> = {
  'experiments.ProjectDefined.v1': 'problem',
  'datasets.DatasetValidated.v1': 'validation',
  'datasets.DatasetSplitCreated.v1': 'split',
  'experiments.RunMetricsSummarized.v1': 'metrics',
  'registry.PromotionRequested.v1': 'gates',
  'registry.PromotionApproved.v1': 'approval',
  'registry.PromotionRejected.v1': 'approval',
  'registry.AliasAssigned.v1': 'alias',
  'monitoring.DriftMeasured.v1': 'drift',
  'monitoring.PerformanceMeasured.v1': 'drift',
  'monitoring.AlertRaised.v1': 'alert',
  'monitoring.AlertResolved.v1': 'alert',
};

export function stageOf(type: string): Stage {
  const known = STAGE_BY_TYPE[type];
  if (known) return known;
  const [context, name] = type.split('.');
  if (context === 'datasets') return 'data';
  if (context === 'experiments') return 'training';
  if (context === 'scheduler') return 'job';
  if (context === 'registry') return 'model';
  if (name?.startsWith('Retrain')) return 'retrain';
  return 'deployment';
}

/** "RunStarted" -> "run started". */
function words(type: string): string {
  const name = type.split('.')[1] ?? type;
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

function summaryOf(e: LineageEventRow, kind: string | null): string {
  return `${words(e.type)} (${kind ?? 'entity'} ${e.nodeId}) by ${e.actor}`;
}

function eventView(e: LineageEventRow, kinds: Map<string, string>): LineageEventView {
  return {
    eventId: e.eventId,
    type: e.type,
    stream: e.stream,
    revision: e.revision,
    position: e.position,
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    correlationId: e.correlationId,
    causationId: e.causationId,
    nodeId: e.nodeId,
    nodeKind: kinds.get(e.nodeId) ?? null,
  };
}

function missingEdge(e: WalkEdge): LineageEdgeRow {
  throw new Error(`lineage edge ${e.fromId} ${e.type} ${e.toId} was crossed by a walk but has no row`);
}

function missingNode(id: string): LineageNodeRow {
  throw new Error(`lineage node ${id} was reached by a walk but has no row`);
}

export function nodeView(n: LineageNodeRow, placed: Placed): LineageNodeView {
  return {
    id: n.id,
    kind: n.kind,
    name: n.name,
    projectId: n.projectId,
    attributes: n.attributes,
    depth: placed.depth,
    direction: placed.direction,
    createdPosition: n.createdPosition,
    createdAt: n.createdAt.toISOString(),
    createdBy: n.createdBy,
    endedPosition: n.endedPosition,
    endedAt: n.endedAt?.toISOString() ?? null,
    endReason: n.endReason,
  };
}

export function edgeView(e: LineageEdgeRow): LineageEdgeView {
  return {
    from: e.fromId,
    to: e.toId,
    type: e.type,
    attributes: e.attributes,
    createdPosition: e.createdPosition,
    createdAt: e.createdAt.toISOString(),
    createdBy: e.createdBy,
    createdEventId: e.createdEventId,
    endedPosition: e.endedPosition,
    endedAt: e.endedAt?.toISOString() ?? null,
  };
}
