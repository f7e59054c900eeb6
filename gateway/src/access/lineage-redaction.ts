import { ForbiddenError, lineageRpc, type LineageEventView, NotFoundError, type RpcRequest } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { projectOf, withProjects } from './project-of';

/** What replaces what a caller may not read of an event about a node of another project. */
export const REDACTED = 'redacted';

/**
 * Which of the nodes a lineage answer mentions the caller may see. The projects come from one
 * walk of the root's whole lineage (cached by the lineage service); a node beyond it is looked
 * up on its own. Nodes of no project (people, agents) are visible to everyone.
 */
export async function nodeVisibility(rootId: string, nodeIds: Iterable<string>, ctx: GatewayContext): Promise<(nodeId: string) => boolean> {
  if (ctx.access.platformAdmin) return () => true;
  const wanted = new Set(nodeIds);
  const projects = new Map<string, string | null>();
  const walk = await ctx.rpc.query(lineageRpc.lineage, { id: rootId, direction: 'BOTH', depth: null, first: 1000 } as RpcRequest<typeof lineageRpc.lineage>);
  for (const node of await withProjects(walk.nodes, walk.edges, ctx)) projects.set(node.id, node.projectId);
  await Promise.all(
    [...wanted]
      .filter((id) => !projects.has(id))
      .map(async (id) => {
        try {
          projects.set(id, await projectOf('entity', id, ctx));
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          projects.set(id, undefined as unknown as string); // unknown: shown redacted
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
  const walk = await ctx.rpc.query(lineageRpc.lineage, { id: rootId, direction: 'BOTH', depth: null, first: 1000 } as RpcRequest<typeof lineageRpc.lineage>);
  if ((await withProjects(walk.nodes, walk.edges, ctx)).some((node) => !ctx.access.canSee(node.projectId)) || walk.pageInfo.hasNextPage) {
    throw new ForbiddenError(`${what} covers the lineage of other projects you have no role in: it needs VIEWER in each of them`, { requiredRole: 'VIEWER' });
  }
}

/**
 * The ids of the nodes of an entity's lineage (this page's and the whole walk's) that belong to a
 * project the caller cannot see; empty for a platform admin.
 */
export async function hiddenNodeIds(rootId: string, page: ReadonlyArray<{ id: string; projectId: string | null }>, ctx: GatewayContext): Promise<Set<string>> {
  const hidden = new Set<string>();
  if (ctx.access.platformAdmin) return hidden;
  const walk = await ctx.rpc.query(lineageRpc.lineage, { id: rootId, direction: 'BOTH', depth: null, first: 1000 } as RpcRequest<typeof lineageRpc.lineage>);
  for (const node of [...page, ...(await withProjects(walk.nodes, walk.edges, ctx))]) if (!ctx.access.canSee(node.projectId)) hidden.add(node.id);
  return hidden;
}

/** `value` with every string that is a hidden id replaced by its placeholder, at any depth. */
export function replaceIds(value: unknown, hidden: ReadonlySet<string>, ctx: GatewayContext): unknown {
  if (typeof value === 'string') return hidden.has(value) ? ctx.access.placeholderOf(value) : value;
  if (Array.isArray(value)) return value.map((item) => replaceIds(item, hidden, ctx));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceIds(item, hidden, ctx)]));
  return value;
}
