import { ForbiddenError, lineageRpc, type LineageEventView, NotFoundError, type RpcRequest } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { projectOf, withProjects } from './project-of';

/** What replaces what a caller may not read of an event about a node of another project. */
export const REDACTED = 'redacted';

/** The project of every node of an entity's whole lineage, as one walk found them, and whether the walk was whole. */
interface WalkProjects {
  projects: ReadonlyMap<string, string | null>;
  complete: boolean;
}

const walks = new WeakMap<GatewayContext, Map<string, Promise<WalkProjects>>>();

/**
 * One walk of an entity's whole lineage (both ways, up to 1,000 nodes; cached by the lineage
 * service), each node with the project of what it belongs to (withProjects). Made once per
 * operation and root, whoever asks (redaction, visibility, audit reports).
 */
function walkProjects(rootId: string, ctx: GatewayContext): Promise<WalkProjects> {
  let byRoot = walks.get(ctx);
  if (!byRoot) walks.set(ctx, (byRoot = new Map()));
  let walk = byRoot.get(rootId);
  if (!walk) {
    walk = (async () => {
      const graph = await ctx.rpc.query(lineageRpc.lineage, { id: rootId, direction: 'BOTH', depth: null, first: 1000 } as RpcRequest<typeof lineageRpc.lineage>);
      const nodes = await withProjects(graph.nodes, graph.edges, ctx);
      return { projects: new Map(nodes.map((node) => [node.id, node.projectId])), complete: !graph.pageInfo.hasNextPage };
    })();
    byRoot.set(rootId, walk);
  }
  return walk;
}

/**
 * Nodes of a lineage answer with their projects: from the walk of the root's whole lineage, and
 * looked up (withProjects) for the few beyond it.
 */
export async function withWalkProjects<N extends Parameters<typeof withProjects>[0][number]>(rootId: string, nodes: ReadonlyArray<N>, edges: Parameters<typeof withProjects>[1], ctx: GatewayContext): Promise<N[]> {
  const { projects } = await walkProjects(rootId, ctx);
  const beyond = await withProjects(
    nodes.filter((node) => !projects.has(node.id)),
    edges,
    ctx,
  );
  const found = new Map(beyond.map((node) => [node.id, node.projectId]));
  return nodes.map((node) => ({ ...node, projectId: projects.has(node.id) ? projects.get(node.id)! : (found.get(node.id) ?? node.projectId) }));
}

/**
 * Which of the nodes a lineage answer mentions the caller may see. The projects come from the
 * walk of the root's whole lineage; a node beyond it is looked up on its own (unknown: hidden).
 * Nodes of no project (people, agents) are visible to everyone.
 */
export async function nodeVisibility(rootId: string, nodeIds: Iterable<string>, ctx: GatewayContext): Promise<(nodeId: string) => boolean> {
  if (ctx.access.platformAdmin) return () => true;
  const { projects: walked } = await walkProjects(rootId, ctx);
  const projects = new Map<string, string | null | undefined>(walked);
  await Promise.all(
    [...new Set(nodeIds)]
      .filter((id) => !projects.has(id))
      .map(async (id) => {
        try {
          projects.set(id, await projectOf('entity', id, ctx));
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          projects.set(id, undefined); // unknown: shown redacted
        }
      }),
  );
  return (nodeId) => {
    const project = projects.get(nodeId);
    return project !== undefined && ctx.access.canSee(project);
  };
}

/** An event about a node the caller may not see keeps its place in the order and its flow ids, nothing else (its node by placeholder). */
export function redactEvent<E extends LineageEventView>(event: E, ctx: GatewayContext): E {
  return { ...event, eventId: ctx.access.placeholderOf(event.eventId), type: REDACTED, stream: REDACTED, actor: REDACTED, nodeId: ctx.access.placeholderOf(event.nodeId), nodeKind: null };
}

/**
 * A document that cannot be redacted (an audit report is digested and cites its events whole)
 * is for those who may see every project it covers: FORBIDDEN otherwise, saying why.
 */
export async function requireWholeLineageVisible(rootId: string, ctx: GatewayContext, what: string): Promise<void> {
  if (ctx.access.platformAdmin) return;
  const { projects, complete } = await walkProjects(rootId, ctx);
  if (!complete || [...projects.values()].some((project) => !ctx.access.canSee(project))) {
    throw new ForbiddenError(`${what} covers the lineage of other projects you have no role in: it needs VIEWER in each of them`, { requiredRole: 'VIEWER' });
  }
}

/**
 * The ids of the nodes of an entity's lineage (this page's, with their projects filled in, and
 * the whole walk's) that belong to a project the caller cannot see; empty for a platform admin.
 */
export async function hiddenNodeIds(rootId: string, page: ReadonlyArray<{ id: string; projectId: string | null }>, ctx: GatewayContext): Promise<Set<string>> {
  const hidden = new Set<string>();
  if (ctx.access.platformAdmin) return hidden;
  const { projects } = await walkProjects(rootId, ctx);
  for (const node of page) if (!ctx.access.canSee(node.projectId)) hidden.add(node.id);
  for (const [id, project] of projects) if (!ctx.access.canSee(project)) hidden.add(id);
  return hidden;
}

/** `value` with every string that is a hidden id replaced by its placeholder, at any depth. */
export function replaceIds(value: unknown, hidden: ReadonlySet<string>, ctx: GatewayContext): unknown {
  if (typeof value === 'string') return hidden.has(value) ? ctx.access.placeholderOf(value) : value;
  if (Array.isArray(value)) return value.map((item) => replaceIds(item, hidden, ctx));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceIds(item, hidden, ctx)]));
  return value;
}
