import { ConfigError, loadConfig } from '@modeltrail/config';
import type { MessagingLogger } from '@modeltrail/messaging';
import { contextLogger, initProcessObservability, rootLogger } from '@modeltrail/observability';
import { AgentIdConflictError } from './node/agent';
import { prepareAgent } from './node/run-agent';
import { DataDirInUseError } from './node/session-file';

/**
 * The GPU-node agent process: reads the configuration, connects to NATS, registers this node
 * with the scheduler and runs the jobs it is given until SIGTERM or SIGINT (see node/agent.ts
 * for what a stop does to running jobs: up to 30 s to end by themselves, then stopped).
 *
 *   node dist/services/agent/src/main.js [--replace-session]
 *
 * `--replace-session`: the operator says the session holding this agent id is gone (a crashed
 * host), so this process takes the id over at once instead of being refused while it looks live.
 *
 * Who it acts as. With AGENT_API_KEY (required in production) every request carries that key
 * (`Mt-Credential`) and acts as `agent:<agentId>`: the scheduler and the experiments service then
 * let it touch only its own registration and assignments. The key must be the AGENT key made for
 * this agent id (a platform admin's GraphQL `createApiKey(input: { name, kind: AGENT, agentId })`);
 * a key of another agent is refused at registration, and the agent does not start. Without a key,
 * outside production only, it signs its requests with ACTOR_SIGNING_KEY (or the development key)
 * as a platform process does, so a local `npm start` works unconfigured. The agent never needs
 * the signing key in production.
 *
 * Exit codes: 0 after a stop, 1 for a configuration or start-up failure, 2 when another agent
 * process holds the agent id or uses the data directory.
 */

async function main(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'agent' });
  // JSON log lines (pino), traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, and metrics (docs/observability.md).
  initProcessObservability(config);
  const log: MessagingLogger = contextLogger('Agent');
  const prepared = await prepareAgent(config, { replaceSession: process.argv.includes('--replace-session'), logger: log });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.log(`agent: ${signal} again: already stopping`);
      return;
    }
    signalled = true;
    log.log(`agent: ${signal}: taking no more jobs; running jobs get up to 30 s to end, then they are stopped`);
    void prepared.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await prepared.run(() => signalled);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `agent failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof AgentIdConflictError || error instanceof DataDirInUseError ? 2 : 1);
  },
);
