import { hostname } from 'node:os';
import { type AppConfig, ConfigError, requireActorSigningKey } from '@modeltrail/config';
import { agentIdForHost } from '@modeltrail/contracts';
import { connectBus, type ManagedBus, type MessagingLogger } from '@modeltrail/messaging';
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
    jobUser,
    env: process.env,
    // Unset in production means the agent cannot tell the scheduler's roots: it leaves the check to the scheduler.
    workingDirRoots: config.scheduler.workingDirRoots.length > 0 ? config.scheduler.workingDirRoots : null,
    rpcTimeoutMs: config.rpcTimeoutMs,
    ...auth,
    replaceSession: options.replaceSession ?? false,
    logger: options.logger,
  });
  return {
    agent,
    async run(stopRequested) {
      try {
        try {
          await agent.start();
        } catch (error) {
          if (!stopRequested()) throw error;
        }
        await agent.closed;
      } finally {
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
