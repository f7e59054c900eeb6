import { Args, Context, Float, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { auditRpc, lineageRpc, logRpc, NotFoundError, type RpcRequest } from '@modeltrail/contracts';
import { JSONScalar } from '../common/scalars';
import type { GatewayContext } from '../context/gateway-context';
import { hiddenNodeIds, nodeVisibility, REDACTED, redactEvent, replaceIds, requireWholeLineageVisible, withWalkProjects } from '../access/lineage-redaction';
import { documentBody } from './audit-document';
import { AuditReportDocument, AuditReportFormatEnum, AsOfInput, ConsistencyProof, Explanation, InclusionProof, LineageDirectionEnum, LineageGraph, LineageNode, LogCheckpoint, LogCheckpointConnection, LogKey, LogVerification, Timeline } from './lineage.types';
import { Anyone, Needs, PlatformAdmin } from '../access/policy';

type Values<E> = E[keyof E];

/** The asOf input as the service reads it (absent fields dropped; both or neither is the service's error to name). */
function asOf(input: AsOfInput | null | undefined): { time?: string; position?: number } | null {
  if (!input) return null;
  return { ...(input.time != null ? { time: input.time } : {}), ...(input.position != null ? { position: input.position } : {}) };
}

@Resolver()
export class LineageResolver {
  @Needs('VIEWER', ['entity', 'id'])
  @Query(() => LineageGraph, {
    description:
      'The lineage of any entity as of any moment: upstream (what it came from), downstream (what came of it) or both, to a depth (no limit when omitted), in pages of nodes with their edges.',
  })
  async lineage(
    @Args('id', { type: () => ID }) id: string,
    @Args('direction', { type: () => LineageDirectionEnum, defaultValue: 'BOTH' }) direction: Values<typeof LineageDirectionEnum>,
    @Args('depth', { type: () => Int, nullable: true, description: '0 to 1000; omitted: no limit.' }) depth: number | null,
    @Args('asOf', { type: () => AsOfInput, nullable: true }) at: AsOfInput | null,
    @Args('first', { type: () => Int, defaultValue: 500, description: 'Nodes per page, 1 to 1000.' }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Context() ctx: GatewayContext,
  ): Promise<LineageGraph> {
    const graph = await ctx.rpc.query(lineageRpc.lineage, { id, direction, depth: depth ?? null, asOf: asOf(at), first, after: after ?? null } as RpcRequest<typeof lineageRpc.lineage>);
    if (ctx.access.platformAdmin) return graph;
    // Every node gets the project of what it belongs to; nodes of other projects are then redacted on
    // the way out (LineageNode), and so is who drew an edge to one.
    [graph.root] = await withWalkProjects(id, [graph.root], graph.edges, ctx);
    graph.nodes = await withWalkProjects(id, graph.nodes, graph.edges, ctx);
    const hidden = await hiddenNodeIds(id, graph.nodes, ctx);
    if (hidden.size === 0) return graph;
    const shown = (nodeId: string) => (hidden.has(nodeId) ? ctx.access.placeholderOf(nodeId) : nodeId);
    // A visible node may name a hidden one among its facts (a run's training data): that id is replaced too.
    const facts = (attributes: Record<string, unknown>) => replaceIds(attributes, hidden, ctx) as Record<string, unknown>;
    return {
      ...graph,
      root: { ...graph.root, attributes: facts(graph.root.attributes) },
      nodes: graph.nodes.map((node) => (hidden.has(node.id) ? node : { ...node, attributes: facts(node.attributes) })),
      edges: graph.edges.map((edge) =>
        hidden.has(edge.from) || hidden.has(edge.to)
          ? { ...edge, from: shown(edge.from), to: shown(edge.to), attributes: {}, createdBy: REDACTED, createdEventId: ctx.access.placeholderOf(edge.createdEventId) }
          : { ...edge, attributes: facts(edge.attributes) },
      ),
    };
  }

  @Needs('VIEWER', ['entity', 'id'])
  @Query(() => Timeline, { description: 'Everything that happened to an entity and its neighbours, oldest first.' })
  async timeline(
    @Args('id', { type: () => ID }) id: string,
    @Args('asOf', { type: () => AsOfInput, nullable: true }) at: AsOfInput | null,
    @Args('first', { type: () => Int, defaultValue: 100, description: 'Events per page, 1 to 500.' }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Context() ctx: GatewayContext,
  ): Promise<Timeline> {
    const reply = await ctx.rpc.query(lineageRpc.timeline, { id, asOf: asOf(at), first, after: after ?? null } as RpcRequest<typeof lineageRpc.timeline>);
    const visible = await nodeVisibility(id, reply.items.map((event) => event.nodeId), ctx);
    return { position: reply.position, nodes: reply.items.map((event) => (visible(event.nodeId) ? event : redactEvent(event, ctx))), pageInfo: reply.pageInfo };
  }

  @Needs('VIEWER', ['entity', 'id'])
  @Query(() => Explanation, {
    description:
      'Why a model version or deployment is in its current state: data → validation → split → run → job → metrics → model version → gates → approval → alias → deployment → drift → retraining, each step with its event, actor and time.',
  })
  async explain(@Args('id', { type: () => ID }) id: string, @Args('asOf', { type: () => AsOfInput, nullable: true }) at: AsOfInput | null, @Context() ctx: GatewayContext): Promise<Explanation> {
    const explanation = await ctx.rpc.query(lineageRpc.explain, { id, asOf: asOf(at) } as RpcRequest<typeof lineageRpc.explain>);
    const visible = await nodeVisibility(id, explanation.steps.map((step) => step.nodeId), ctx);
    const steps = explanation.steps.map((step) => (visible(step.nodeId) ? step : { ...redactEvent(step, ctx), summary: `${step.stage}: a step in a project you have no role in` }));
    return { ...explanation, steps };
  }

  @Needs('VIEWER', [['run', 'runId']])
  @Query(() => [JSONScalar], {
    description: 'The OpenLineage 2-0-2 RunEvents of an experiment run or a training job (START, COMPLETE, FAIL, ABORT...), in order, as they are sent to the configured endpoint.',
  })
  async openLineage(@Args('runId', { type: () => ID, description: 'A run id or a job id.' }) runId: string, @Context() ctx: GatewayContext): Promise<unknown[]> {
    const { events } = await ctx.rpc.query(lineageRpc.openLineage, { runId });
    if (events === null) throw new NotFoundError(`no run or job ${runId}`, { runId });
    return events;
  }

  @Needs('VIEWER', ['modelVersion', 'modelVersionId'])
  @Query(() => AuditReportDocument, {
    description:
      'An audit report of a model version: its lifecycle by stage (with the model-card headings and EU AI Act Annex IV points each serves, and every gap named), each claim citing its events, each event with its inclusion proof against a signed checkpoint, and the report\'s own digest.',
  })
  async auditReport(
    @Args('modelVersionId', { type: () => ID }) modelVersionId: string,
    @Args('format', { type: () => AuditReportFormatEnum, defaultValue: 'JSON' }) format: Values<typeof AuditReportFormatEnum>,
    @Context() ctx: GatewayContext,
  ): Promise<AuditReportDocument> {
    await requireWholeLineageVisible(modelVersionId, ctx, 'this audit report');
    const document = await ctx.rpc.query(auditRpc.auditReport, { modelVersionId, format });
    return { ...document, body: documentBody(document) };
  }

  @Anyone('the verifier key of the log is public')
  @Query(() => LogKey, { description: "The log's name and the key its checkpoints are signed with: keep it to verify checkpoints and audit reports offline." })
  logKey(@Context() ctx: GatewayContext): Promise<LogKey> {
    return ctx.rpc.query(logRpc.logKey, {});
  }

  @Anyone('a signed checkpoint holds a tree size and a root hash, nothing of any project')
  @Query(() => LogCheckpoint, { description: 'The latest signed checkpoint of the log.' })
  logCheckpoint(@Context() ctx: GatewayContext): Promise<LogCheckpoint> {
    return ctx.rpc.query(logRpc.latestCheckpoint, {});
  }

  @Anyone('signed checkpoints hold tree sizes and root hashes, nothing of any project')
  @Query(() => LogCheckpointConnection, { description: 'Signed checkpoints, newest first.' })
  async logCheckpoints(
    @Args('first', { type: () => Int, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Context() ctx: GatewayContext,
  ): Promise<LogCheckpointConnection> {
    const reply = await ctx.rpc.query(logRpc.listCheckpoints, { first, after: after ?? null });
    return { nodes: reply.items, pageInfo: reply.pageInfo };
  }

  @PlatformAdmin()
  @Mutation(() => LogCheckpoint, { description: 'Signs a checkpoint of the log as it stands now (the latest one when nothing was added since).' })
  publishCheckpoint(@Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<LogCheckpoint> {
    return ctx.rpc.command(logRpc.publishCheckpoint, {}, ctx.commandIdFor(info));
  }

  @Anyone('an inclusion proof holds hashes and positions only, nothing of the event; event ids are not guessable')
  @Query(() => InclusionProof, { description: 'Proof that an event is in the log, in the tree of treeSize events (the latest checkpoint when omitted).' })
  inclusionProof(
    @Args('eventId', { type: () => ID }) eventId: string,
    @Args('treeSize', { type: () => Float, nullable: true }) treeSize: number | null,
    @Context() ctx: GatewayContext,
  ): Promise<InclusionProof> {
    return ctx.rpc.query(logRpc.inclusionProof, { eventId, treeSize: treeSize ?? null } as RpcRequest<typeof logRpc.inclusionProof>);
  }

  @Anyone('a consistency proof holds hashes only')
  @Query(() => ConsistencyProof, { description: 'Proof that the log of toSize events extends the log of fromSize events: it only grew.' })
  consistencyProof(@Args('fromSize', { type: () => Float }) fromSize: number, @Args('toSize', { type: () => Float }) toSize: number, @Context() ctx: GatewayContext): Promise<ConsistencyProof> {
    return ctx.rpc.query(logRpc.consistencyProof, { fromSize, toSize });
  }

  @PlatformAdmin()
  @Query(() => LogVerification, { description: 'Checks every stored event against the log and the log against its signed checkpoints (reads everything).' })
  verifyLog(@Context() ctx: GatewayContext): Promise<LogVerification> {
    return ctx.rpc.query(logRpc.verifyLog, {});
  }
}

@Resolver(() => LineageNode)
export class LineageNodeResolver {
  @ResolveField(() => Boolean, { description: 'True for a node of a project you have no role in: only its id and kind are shown, so the graph keeps its true shape.' })
  redacted(@Parent() node: LineageNode): boolean {
    return node.redacted === true;
  }
}
