import type { DynamicModule, INestApplicationContext, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { type AppConfig, requireActorSigningKey } from '@modeltrail/config';
import { acquireOpsServer, contextLogger, ensureProcessObservability, flushTracing, PinoNestLogger, processReadiness } from '@modeltrail/observability';
import { PG_POOL } from '@modeltrail/postgres';
import { agentCredentials } from './agent-credentials';
import { NatsRpcTransport } from './nats-rpc.transport';

export interface ServiceAppOptions {
  /** Whether agents may call some of its definitions with their own AGENT API key (checked with the access service). */
  agentsMayCall?: boolean;
}

/**
 * A service's NestJS app on the messaging port named by `config.natsUrl` (a NATS server, or the
 * in-process bus of the one-process composition): every `@RpcPattern` handler of `module` served
 * under the queue group of the service's name, signed actors required. Call `listen()` to serve.
 * The service's own `main.ts` and the one-process composition both build the app here, so
 * the two ways of running differ only in the bus.
 *
 * Observability (docs/observability.md): Nest logs through the process's pino logger (JSON
 * lines); every request is traced and measured (observeRpc); /ready asks the app's bus
 * connection and its PostgreSQL pool (`<service>:bus`, `<service>:database`); with OPS_PORT set
 * the process's ops server (/metrics, /health, /ready) runs until the app is closed.
 */
export async function createServiceApp(module: DynamicModule, config: AppConfig, options: ServiceAppOptions = {}): Promise<INestMicroservice> {
  ensureProcessObservability(config);
  const signingKey = requireActorSigningKey(config);
  const release: Array<() => Promise<void> | void> = [];
  const transport = new NatsRpcTransport({
    nats: { url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword },
    queue: config.serviceName,
    service: config.serviceName,
    // Closing the app closes the transport: the app's readiness checks and its hold on the ops server go with it.
    onClose: async () => {
      for (const done of release.splice(0)) await done();
      await flushTracing();
    },
    namespace: config.natsNamespace,
    actors: options.agentsMayCall
      ? { signingKey, credentials: agentCredentials({ signingKey, actor: `service:${config.serviceName}`, namespace: config.natsNamespace, timeoutMs: config.rpcTimeoutMs }) }
      : { signingKey },
  });
  const app = await NestFactory.createMicroservice(module, { strategy: transport, logger: new PinoNestLogger() });
  const pool = poolOf(app);
  release.push(
    processReadiness.add(`${config.serviceName}:bus`, async () => {
      transport.assertConnected();
      await transport.unwrap<{ flush(): Promise<void> }>().flush();
    }),
  );
  if (pool) release.push(processReadiness.add(`${config.serviceName}:database`, () => pool.query('SELECT 1')));
  const ops = await acquireOpsServer({ port: config.observability.opsPort, host: config.observability.opsHost, metricsToken: config.observability.metricsToken }).catch(async (error: unknown) => {
    await app.close();
    throw new Error(`the ops server could not listen on ${config.observability.opsHost}:${config.observability.opsPort} (OPS_PORT, OPS_HOST): ${error instanceof Error ? error.message : String(error)}`);
  });
  if (ops) {
    release.push(() => ops.release());
    contextLogger(config.serviceName).log(`ops: ${ops.server.url}/metrics, /health and /ready`);
  }
  return app;
}

/** The app's PostgreSQL pool (PostgresModule), if it has one. */
export function poolOf(app: INestApplicationContext): Pool | null {
  try {
    return app.get<Pool>(PG_POOL, { strict: false }) ?? null;
  } catch {
    return null;
  }
}
