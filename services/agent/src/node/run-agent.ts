import { hostname } from 'node:os';
import { type AppConfig, ConfigError, requireActorSigningKey } from '@modeltrail/config';
import { agentIdForHost } from '@modeltrail/contracts';
import { connectBus, type ManagedBus, type MessagingLogger } from '@modeltrail/messaging';
import { acquireOpsServer, processReadiness } from '@modeltrail/observability';
import { jobUserFor } from '../process/user';
import { Agent } from './agent';

export interface AgentRunOptions {
  /** The operator says the session holding this agent id is gone: take the id over at once. */
  replaceSession?: boolean;
  logger: MessagingLogger;
}

/** An agent connected to the messaging port, not started yet. */
export interface PreparedAgent {
  readonly agent: Agent;
  /**
   * Registers with the scheduler and starts taking jobs; resolves once the agent has stopped
   * and its connection is closed. A start that fails because a stop came first is not an error.
   */
  run(stopRequested: () => boolean): Promise<void>;
  /** Takes no more jobs; running jobs get up to 30 s to end, then they are stopped. */
  stop(): Promise<void>;
}

/**
 * The agent of this host on the messaging port named by `config.natsUrl` (a NATS server, or the
 * in-process bus of the one-process composition), with its GPUs from nvidia-smi or the
 * machine's CPUs and memory. Used by the agent's own process and by the one-process composition.
 */
export async function prepareAgent(config: AppConfig, options: AgentRunOptions): Promise<PreparedAgent> {
  const host = hostname();
  const agentId = config.agent.id ?? agentIdForHost(host);
  const auth = agentAuth(config);
  const jobUser = await jobUserFor(config.agent.jobUser, typeof process.getuid === 'function' ? process.getuid() : -1);
  const bus: ManagedBus = await connectBus({ url: config.natsUrl, name: `${config.serviceName}-${host}`, user: config.natsUser, pass: config.natsPassword });
  const agent = new Agent({
    nc: bus.nc,
    namespace: config.natsNamespace,
    agentId,
    hostname: host,
    labels: config.agent.labels,
    nvidiaSmi: config.agent.nvidiaSmi,
    nvidiaSmiTimeoutMs: config.agent.nvidiaSmiTimeoutMs,
    cpus: config.agent.cpus,
    memoryMb: config.agent.memoryMb,
    dataDir: config.agent.dataDir,
    artifactRoot: config.artifactRoot,
    telemetryStream: config.telemetryStream,
    telemetryReplicas: config.jetstreamReplicas,
    jobUser,
    env: process.env,
    // Unset in production means the agent cannot tell the scheduler's roots: it leaves the check to the scheduler.
    workingDirRoots: config.scheduler.workingDirRoots.length > 0 ? config.scheduler.workingDirRoots : null,
    rpcTimeoutMs: config.rpcTimeoutMs,
    ...auth,
    replaceSession: options.replaceSession ?? false,
    logger: options.logger,
  });
  // /ready: the bus answers a round trip and the agent has registered (docs/observability.md).
  let registered = false;
  const removeChecks = [
    processReadiness.add(`${config.serviceName}:bus`, () => bus.nc.flush()),
    processReadiness.add(`${config.serviceName}:registered`, () => {
      if (!registered) throw new Error('not registered with the scheduler yet');
    }),
  ];
  const ops = await acquireOpsServer({ port: config.observability.opsPort, host: config.observability.opsHost, metricsToken: config.observability.metricsToken }).catch(async (error: unknown) => {
    for (const remove of removeChecks) remove();
    await bus.close();
    throw new Error(`the ops server could not listen on ${config.observability.opsHost}:${config.observability.opsPort} (OPS_PORT, OPS_HOST): ${error instanceof Error ? error.message : String(error)}`);
  });
  if (ops) options.logger.log(`ops: ${ops.server.url}/metrics, /health and /ready`);
  return {
    agent,
    async run(stopRequested) {
      try {
        try {
          await agent.start();
          registered = true;
        } catch (error) {
          if (!stopRequested()) throw error;
        }
        await agent.closed;
      } finally {
        registered = false;
        for (const remove of removeChecks) remove();
        await ops?.release();
        await bus.close();
      }
    },
    stop: () => agent.stop(),
  };
}

/** The agent's own credential; without one, only outside production, the actor signing key. */
function agentAuth(config: AppConfig): { credential: string } | { signingKey: Buffer } {
  if (config.agent.apiKey) return { credential: config.agent.apiKey };
  if (config.env === 'production') {
    throw new ConfigError([
      {
        variable: 'AGENT_API_KEY',
        problem:
          'is required when NODE_ENV=production: the AGENT API key made for this agent id (a platform admin creates it with the GraphQL mutation createApiKey(input: { name, kind: AGENT, agentId }))',
      },
    ]);
  }
  return { signingKey: requireActorSigningKey(config) };
}
