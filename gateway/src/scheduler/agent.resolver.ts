import { Args, Context, ID, Info, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { schedulerRpc } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { DrainAgentInput, ResumeAgentInput } from './scheduler.inputs';
import { Agent, AgentConnection, AgentGpu, AgentStatusEnum, Job, toAgent, toJob } from './scheduler.types';
import { Anyone, PlatformAdmin } from '../access/policy';

type Values<E> = E[keyof E];

@Resolver(() => Agent)
export class AgentResolver {
  @Anyone('agents are shared machines, of no project; the jobs they hold are filtered')
  @Query(() => Agent, { nullable: true, description: 'An agent by id (NOT_FOUND when there is none).' })
  async agent(@Args('id', { type: () => ID }) id: string, @Context() ctx: GatewayContext): Promise<Agent> {
    return toAgent(await ctx.loaders.agents.load(parseId(id, 'id')));
  }

  @Anyone('agents are shared machines, of no project; the jobs they hold are filtered')
  @Query(() => AgentConnection, { description: 'Agents by host name.' })
  async agents(
    @Args('status', { type: () => AgentStatusEnum, nullable: true }) status: Values<typeof AgentStatusEnum> | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<AgentConnection> {
    const reply = await ctx.rpc.query(schedulerRpc.listAgents, { ...(status ? { status } : {}), ...pageRequest(page) });
    for (const item of reply.items) ctx.loaders.agents.prime(item.agentId, item);
    return toPage(reply, toAgent);
  }

  @PlatformAdmin()
  @Mutation(() => Agent, { description: 'Stops placing jobs on an agent; the jobs it runs finish.' })
  async drainAgent(@Args('input') input: DrainAgentInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Agent> {
    return toAgent(await ctx.rpc.command(schedulerRpc.drainAgent, { agentId: input.agentId, ...(input.reason ? { reason: input.reason } : {}) }, ctx.commandIdFor(info)));
  }

  @PlatformAdmin()
  @Mutation(() => Agent, { description: 'Places jobs on a drained agent again.' })
  async resumeAgent(@Args('input') input: ResumeAgentInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Agent> {
    return toAgent(await ctx.rpc.command(schedulerRpc.resumeAgent, { agentId: input.agentId }, ctx.commandIdFor(info)));
  }

  @ResolveField(() => [Job], { description: 'The jobs whose processes the agent holds.' })
  async runningJobs(@Parent() agent: Agent, @Context() ctx: GatewayContext): Promise<Job[]> {
    return (await ctx.loaders.jobs.loadMany(agent.runningJobIds)).map((job) => {
      if (job instanceof Error) throw job;
      return toJob(job);
    });
  }
}

@Resolver(() => AgentGpu)
export class AgentGpuResolver {
  @ResolveField(() => Job, { nullable: true, description: 'The job holding the GPU; null when free.' })
  async job(@Parent() gpu: AgentGpu, @Context() ctx: GatewayContext): Promise<Job | null> {
    return gpu.jobId ? toJob(await ctx.loaders.jobs.load(gpu.jobId)) : null;
  }
}
