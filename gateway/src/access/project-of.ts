import { type ENTITY_STREAM_PREFIXES, lineageRpc, NotFoundError } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { aggregatesOf } from '../history/history.resolver';
import { monitoringLoaders } from '../monitoring/monitoring.loaders';
import { registryLoaders } from '../registry/registry.loaders';

/** The kinds of entity whose project a policy can look up by id. `entity`: any id the history or lineage knows. */
export const ENTITY_KINDS = [
  'project',
  'experiment',
  'run',
  'dataset',
  'datasetVersion',
  'job',
  'sweep',
  'agent',
  'model',
  'modelVersion',
  'promotionRequest',
  'deployment',
  'monitor',
  'alert',
  'retrainRequest',
  'entity',
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

const KIND_OF_PREFIX: Record<(typeof ENTITY_STREAM_PREFIXES)[number], EntityKind> = {
  dataset: 'dataset',
  'dataset-version': 'datasetVersion',
  project: 'project',
  experiment: 'experiment',
  run: 'run',
  job: 'job',
  agent: 'agent',
  sweep: 'sweep',
  model: 'model',
  'model-version': 'modelVersion',
  deployment: 'deployment',
  monitor: 'monitor',
};

/**
 * The project an entity belongs to, or null for what has none (a shared dataset, an agent). An id
 * the owning service does not know is NOT_FOUND, for whoever asks. Lookups go through the
 * operation's DataLoaders, which read each service's read model caught up with its own writes,
 * so an entity created a moment ago is found.
 */
export async function projectOf(kind: EntityKind, id: string, ctx: GatewayContext): Promise<string | null> {
  switch (kind) {
    case 'project':
      return (await ctx.loaders.projects.load(id)).projectId;
    case 'experiment':
      return (await ctx.loaders.experiments.load(id)).projectId;
    case 'run':
      return (await ctx.loaders.runs.load(id)).projectId;
    case 'dataset':
      return (await ctx.loaders.datasets.load(id)).projectId;
    case 'datasetVersion':
      return projectOf('dataset', (await ctx.loaders.datasetVersions.load(id)).datasetId, ctx);
    case 'job':
      return (await ctx.loaders.jobs.load(id)).projectId;
    case 'sweep':
      return (await ctx.loaders.sweeps.load(id)).projectId;
    case 'agent':
      await ctx.loaders.agents.load(id);
      return null;
    case 'model':
      return (await registryLoaders(ctx).models.load(id)).projectId;
    case 'modelVersion':
      return (await registryLoaders(ctx).modelVersions.load(id)).projectId;
    case 'promotionRequest':
      return projectOf('model', (await registryLoaders(ctx).promotionRequests.load(id)).modelId, ctx);
    case 'deployment':
      return (await monitoringLoaders(ctx).deployments.load(id)).projectId;
    case 'monitor':
      return (await monitoringLoaders(ctx).monitors.load(id)).projectId;
    case 'alert':
      return projectOf('deployment', (await monitoringLoaders(ctx).alerts.load(id)).deploymentId, ctx);
    case 'retrainRequest':
      return projectOf('model', (await monitoringLoaders(ctx).retrains.load(id)).modelId, ctx);
    case 'entity':
      return projectOfAnyEntity(id, ctx);
    default: {
      const unknownKind: never = kind;
      throw new Error(`no project lookup for ${String(unknownKind)}`);
    }
  }
}

/**
 * Any id: an aggregate's own stream says its kind; anything else (a promotion, an alert, a
 * validation, an artifact) is asked of the lineage graph, whose nodes carry their project.
 */
async function projectOfAnyEntity(id: string, ctx: GatewayContext): Promise<string | null> {
  const lower = id.toLowerCase();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(lower)) {
    // An id may name streams of two aggregates (a deployment and its monitor): the first whose service knows it answers.
    for (const prefix of await aggregatesOf(ctx.store, lower)) {
      try {
        return await projectOf(KIND_OF_PREFIX[prefix], lower, ctx);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
  }
  // One step upstream: a validation or a split takes the project of the version it was made from.
  const graph = await ctx.rpc.query(lineageRpc.lineage, { id, direction: 'UPSTREAM', depth: 1, first: 50 });
  const [root] = await withProjects([graph.root, ...graph.nodes.filter((node) => node.id !== graph.root.id)], graph.edges, ctx);
  return root.projectId;
}

type GraphNode = { id: string; kind: string; projectId: string | null; attributes: Record<string, unknown> };
type GraphEdge = { from: string; to: string; type: string };

/**
 * The lineage graph records the project only on the entities that name one (projects, datasets,
 * experiments, runs, jobs, models, deployments...). The nodes that belong to one of those are
 * given its project here, before anyone decides what a caller may see: a dataset version its
 * dataset's, an artifact its run's, a promotion its model's, an alert and a retraining their
 * deployment's, a validation or a split the project of the version it was made from. People and
 * agents keep none (they are shared).
 */
export async function withProjects<N extends GraphNode>(nodes: ReadonlyArray<N>, edges: ReadonlyArray<GraphEdge>, ctx: GatewayContext): Promise<N[]> {
  const known = new Map<string, string | null>(nodes.map((node) => [node.id, node.projectId]));
  const lookUp = async (node: N): Promise<string | null> => {
    try {
      switch (node.kind) {
        case 'dataset_version':
          return await projectOf('datasetVersion', node.id, ctx);
        case 'artifact': {
          const runId = node.id.split(':')[1];
          return runId ? await projectOf('run', runId, ctx) : null;
        }
        case 'promotion':
          return typeof node.attributes.modelId === 'string' ? await projectOf('model', node.attributes.modelId, ctx) : null;
        case 'alert':
          return await projectOf('alert', node.id, ctx);
        case 'retrain':
          return await projectOf('retrainRequest', node.id, ctx);
        default:
          return null;
      }
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  };
  const filled = await Promise.all(nodes.map(async (node) => (node.projectId !== null ? node : { ...node, projectId: await lookUp(node) })));
  for (const node of filled) known.set(node.id, node.projectId);
  // Validations and splits: the project of the version they were made from (VALIDATES, SPLITS: version → it).
  return filled.map((node) => {
    if (node.projectId !== null || (node.kind !== 'validation' && node.kind !== 'split')) return node;
    const source = edges.find((edge) => edge.to === node.id && (edge.type === 'VALIDATES' || edge.type === 'SPLITS'));
    return source ? { ...node, projectId: known.get(source.from) ?? null } : node;
  });
}
