import 'reflect-metadata';
import type { DynamicModule, INestApplication, INestMicroservice } from '@nestjs/common';
import { type AppConfig, loadConfig, requireSafeListenAddress } from '@modeltrail/config';
import { closeInProcessBus, createServiceApp, IN_PROCESS_BUS_URL, type MessagingLogger } from '@modeltrail/messaging';
import { initProcessObservability, rootLogger } from '@modeltrail/observability';
import { AccessModule } from '../../services/access/src/access.module';
import { prepareAgent } from '../../services/agent/src/node/run-agent';
import { DatasetsModule } from '../../services/datasets/src/datasets.module';
import { ExperimentsModule } from '../../services/experiments/src/experiments.module';
import { LineageModule } from '../../services/lineage/src/lineage.module';
import { MonitoringModule } from '../../services/monitoring/src/monitoring.module';
import { RegistryModule } from '../../services/registry/src/registry.module';
import { SchedulerModule } from '../../services/scheduler/src/scheduler.module';
import { WebhooksModule } from '../../services/webhooks/src/webhooks.module';
import { createGatewayApp } from '../../gateway/src/gateway.app';
import { GRAPHQL_PATH } from '../../gateway/src/gateway.module';

/**
 * The one-process composition: every service's NestJS module, the gateway and one local agent
 * in this Node process, on the in-process bus instead of NATS. The modules, handlers,
 * projections and reactors are the ones the services topology runs, built by the same factories
 * (createServiceApp, createGatewayApp, prepareAgent); only the messaging port differs. Domain
 * events reach their consumers as in the services topology, by following the event store from
 * their checkpoints. No relay runs: it copies events to JetStream for consumers outside the
 * platform, and nothing outside this process can reach the in-process bus.
 */

interface ServiceSpec {
  name: string;
  module: (config: AppConfig) => DynamicModule;
  serves: string;
  agentsMayCall?: boolean;
}

/** The services, in start order (the same set `npm start` runs as processes, less the relay). */
export const ONE_PROCESS_SERVICES: ReadonlyArray<ServiceSpec> = [
  { name: 'access', module: (c) => AccessModule.forRoot(c), serves: 'mt.cmd.access.* and mt.qry.access.*' },
  { name: 'datasets', module: (c) => DatasetsModule.forRoot(c), serves: 'mt.cmd.datasets.* and mt.qry.datasets.*' },
  { name: 'experiments', module: (c) => ExperimentsModule.forRoot(c), serves: 'mt.cmd.experiments.* and mt.qry.experiments.*', agentsMayCall: true },
  { name: 'scheduler', module: (c) => SchedulerModule.forRoot(c), serves: 'mt.cmd.scheduler.* and mt.qry.scheduler.*', agentsMayCall: true },
  { name: 'registry', module: (c) => RegistryModule.forRoot(c), serves: 'mt.cmd.registry.* and mt.qry.registry.*' },
  { name: 'monitoring', module: (c) => MonitoringModule.forRoot(c), serves: 'mt.cmd.monitoring.* and mt.qry.monitoring.*' },
  { name: 'lineage', module: (c) => LineageModule.forRoot(c), serves: 'mt.qry.lineage.*' },
  { name: 'webhooks', module: (c) => WebhooksModule.forRoot(c), serves: 'mt.cmd.webhooks.* and mt.qry.webhooks.*' },
];

export interface OneProcessPlatform {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  readonly graphqlUrl: string;
  /** Settles when the agent stops by itself (it failed): the platform should then stop. */
  readonly agentStopped: Promise<unknown>;
  /** Stops the agent (running jobs get up to 30 s), the gateway, then the services; closes the bus. */
  stop(): Promise<void>;
}

export interface OneProcessOptions {
  /** The environment each part reads its configuration from (DATABASE_URL already decided). */
  env: NodeJS.ProcessEnv;
  /** Where the parts' own lines go (`<name>: ...`); default: the process's JSON log, `service` naming the part. */
  print?: (line: string) => void;
}

/** Starts every part in turn; on a failure, stops what had started and rethrows. */
export async function startOneProcess(options: OneProcessOptions): Promise<OneProcessPlatform> {
  const configFor = (serviceName: string): AppConfig => ({ ...loadConfig(options.env, { serviceName }), natsUrl: IN_PROCESS_BUS_URL });
  // One JSON log stream for every part (service `modeltrail`, or the part handling a request),
  // one tracing SDK and one metrics registry, served at the gateway's /metrics (and on OPS_PORT when set).
  initProcessObservability(configFor('modeltrail'));
  const say = (service: string, line: string) => (options.print ? options.print(line) : rootLogger().info({ service }, line));
  const services: INestMicroservice[] = [];
  let gateway: INestApplication | undefined;
  const closeAll = async () => {
    await gateway?.close().catch(() => undefined);
    for (const app of services.reverse()) await app.close().catch(() => undefined);
    await closeInProcessBus(IN_PROCESS_BUS_URL);
  };
  try {
    for (const spec of ONE_PROCESS_SERVICES) {
      const config = configFor(spec.name);
      const app = await createServiceApp(spec.module(config), config, { agentsMayCall: spec.agentsMayCall });
      services.push(app);
      await app.listen();
      say(spec.name, `${spec.name}: serving ${spec.serves} on the in-process bus`);
    }
    const gatewayConfig = configFor('gateway');
    // Before it listens: a gateway open to the network with the development token is refused.
    const host = requireSafeListenAddress(gatewayConfig);
    gateway = await createGatewayApp(gatewayConfig);
    await gateway.listen(gatewayConfig.port, host);
    const shown = host.includes(':') ? `[${host}]` : host;
    const graphqlUrl = `http://${shown}:${gatewayConfig.port}${GRAPHQL_PATH}`;
    say('gateway', `gateway: GraphQL on ${graphqlUrl} (HTTP and graphql-ws), on the in-process bus; metrics of the whole process at http://${shown}:${gatewayConfig.port}/metrics`);

    let stopping = false;
    const logger = options.print ? prefixed('agent', options.print) : agentLogger();
    const agent = await prepareAgent(configFor('agent'), { logger });
    const agentStopped = agent.run(() => stopping);
    return {
      graphqlUrl,
      agentStopped,
      async stop() {
        stopping = true;
        await agent.stop().catch(() => undefined);
        await agentStopped.catch(() => undefined);
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The agent's lines in the process's JSON log, `service` agent. */
function agentLogger(): MessagingLogger {
  return {
    log: (message) => rootLogger().info({ service: 'agent' }, message),
    warn: (message) => rootLogger().warn({ service: 'agent' }, message),
    error: (message, stack) => rootLogger().error({ service: 'agent', stack }, message),
  };
}

function prefixed(name: string, print: (line: string) => void): MessagingLogger {
  const line = (message: string) => (message.startsWith(`${name}:`) ? message : `${name}: ${message}`);
  return {
    log: (message) => print(line(message)),
    warn: (message) => print(line(message)),
    error: (message, stack) => print(line(stack && process.env.NODE_ENV !== 'production' ? `${message}\n${stack}` : message)),
  };
}
