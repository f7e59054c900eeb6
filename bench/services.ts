import type { AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { NatsRpcTransport } from '@modeltrail/messaging';
import { DatasetsModule } from '../services/datasets/src/datasets.module';
import { ExperimentsModule } from '../services/experiments/src/experiments.module';
import { SchedulerModule } from '../services/scheduler/src/scheduler.module';
import { GatewayModule, GRAPHQL_PATH } from '../gateway/src/gateway.module';
import type { BenchContext } from './harness';

export const BENCH_TOKEN = 'bench-token';

/** Settings shared by the services of one benchmark: the run's database, NATS namespace and event store schema. */
function environment(ctx: BenchContext, eventStoreSchema: string) {
  return {
    DATABASE_URL: ctx.databaseUrl,
    NATS_URL: ctx.natsUrl,
    NATS_NAMESPACE: eventStoreSchema,
    EVENTSTORE_SCHEMA: eventStoreSchema,
    TELEMETRY_STREAM: telemetryStreamOf(eventStoreSchema),
    LOG_LEVEL: 'error',
  };
}

/** The job-telemetry stream of a benchmark's services (one per run, removed by the benchmark). */
export function telemetryStreamOf(eventStoreSchema: string): string {
  return `${eventStoreSchema}_tel`.slice(-64);
}

/**
 * A service module as it runs in production: a Nest microservice on the NATS transport, or on
 * the in-process bus named by `busUrl` (`in-process://<name>`) as in the one-process composition.
 */
async function bootService(ctx: BenchContext, module: DynamicModule, name: string, namespace: string, busUrl = ctx.natsUrl): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    strategy: new NatsRpcTransport({ nats: { url: busUrl, name: `${name}-bench` }, namespace, queue: name }),
    logger: false,
  });
  await app.listen();
  return app;
}

/** The datasets service; with `busUrl` (`in-process://<name>`), on that in-process bus instead of NATS. */
export function bootDatasets(ctx: BenchContext, eventStoreSchema: string, readModelSchema: string, busUrl?: string): Promise<INestMicroservice> {
  const loaded = loadConfig({ ...environment(ctx, eventStoreSchema), SERVICE_NAME: 'datasets', READ_MODEL_SCHEMA: readModelSchema });
  const config = busUrl ? { ...loaded, natsUrl: busUrl } : loaded;
  return bootService(ctx, DatasetsModule.forRoot(config), 'datasets', eventStoreSchema, busUrl);
}

export function bootExperiments(ctx: BenchContext, eventStoreSchema: string, readModelSchema: string): Promise<INestMicroservice> {
  const config = loadConfig({ ...environment(ctx, eventStoreSchema), SERVICE_NAME: 'experiments', READ_MODEL_SCHEMA: readModelSchema });
  return bootService(ctx, ExperimentsModule.forRoot(config), 'experiments', eventStoreSchema);
}

export function bootScheduler(ctx: BenchContext, eventStoreSchema: string, readModelSchema: string, extra: Record<string, string> = {}): Promise<INestMicroservice> {
  const config = loadConfig({ ...environment(ctx, eventStoreSchema), SERVICE_NAME: 'scheduler', READ_MODEL_SCHEMA: readModelSchema, ...extra });
  return bootService(ctx, SchedulerModule.forRoot(config), 'scheduler', eventStoreSchema);
}

/**
 * The GraphQL gateway on an ephemeral port; resolves to the app and its GraphQL URL. The bench
 * is one identity making thousands of requests a second: the per-identity rate limit still runs
 * (its cost is measured) but is set far above what a run asks (the default 600 a minute refused
 * full mode's GraphQL benchmark).
 */
export async function bootGateway(ctx: BenchContext, eventStoreSchema: string, readModelSchema: string): Promise<{ app: INestApplication; url: string }> {
  const config = loadConfig({
    ...environment(ctx, eventStoreSchema),
    SERVICE_NAME: 'gateway',
    READ_MODEL_SCHEMA: readModelSchema,
    API_TOKENS: `${BENCH_TOKEN}=bench@modeltrail.local`,
    RPC_TIMEOUT_MS: '30000',
    RATE_LIMIT_PER_MINUTE: '10000000',
    RATE_LIMIT_BURST: '10000000',
  });
  const app = await NestFactory.create(GatewayModule.forRoot(config), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}` };
}
