/**
 * The event relay process (docs/architecture.md: Messaging): follows the event store from its checkpoint and publishes
 * a copy of every event to the JetStream stream MT_EVENTS, `Nats-Msg-Id` = event id. Replicas
 * are safe: one holds the leadership lock and relays, the others wait to take over.
 */
import { loadConfig } from '@modeltrail/config';
import { EventCatalog, subjects, withNamespace } from '@modeltrail/contracts';
import { openEventStore } from '@modeltrail/eventstore';
import { connectNats, EventRelay, MESSAGING_SCHEMA } from '@modeltrail/messaging';
import { acquireOpsServer, initProcessObservability, processReadiness, rootLogger } from '@modeltrail/observability';
import { acquireLeadership, createPool, ensureDatabase, type Leadership } from '@modeltrail/postgres';

const RELAY_NAME = 'mt-events';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'relay' });
  const { logger } = initProcessObservability(config);
  await ensureDatabase(config.databaseUrl);
  const pool = createPool(config.databaseUrl, { max: config.databasePoolSize, applicationName: 'modeltrail-relay' });
  // NATS carries faithful copies of what is stored: no upcasting here, consumers upcast.
  const store = await openEventStore(config, pool, new EventCatalog({}, { strict: false }));
  const nats = await connectNats({ url: config.natsUrl, name: config.serviceName, user: config.natsUser, pass: config.natsPassword });
  // /ready: NATS answers a round trip and the pool a SELECT 1; OPS_PORT serves it (docs/observability.md).
  processReadiness.add('relay:bus', () => nats.nc.flush());
  processReadiness.add('relay:database', () => pool.query('SELECT 1'));
  const ops = await acquireOpsServer({ port: config.observability.opsPort, host: config.observability.opsHost, metricsToken: config.observability.metricsToken });
  if (ops) logger.info(`ops: ${ops.server.url}/metrics, /health and /ready`);

  const abort = new AbortController();
  let relay: EventRelay | undefined;
  let leadership: Leadership | undefined;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    abort.abort();
    await relay?.stop().catch(() => undefined);
    await ops?.release().catch(() => undefined);
    await leadership?.release().catch(() => undefined);
    await nats.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  logger.info(`relay: waiting for leadership of ${RELAY_NAME} (${store.kind} event store)`);
  leadership = await acquireLeadership(config.databaseUrl, `relay:${RELAY_NAME}`, { signal: abort.signal });
  leadership.lost.catch((error: Error) => {
    logger.error(`relay: ${error.message}; stopping so a replica can take over`);
    void shutdown(1);
  });
  relay = new EventRelay({
    store,
    nc: nats.nc,
    pool,
    schema: MESSAGING_SCHEMA,
    name: RELAY_NAME,
    streamName: config.eventsStream,
    replicas: config.jetstreamReplicas,
    maxBytes: config.eventsStreamMaxBytes,
    subjectPrefix: withNamespace(config.natsNamespace, subjects.allEvents.replace(/\.>$/, '')),
  });
  await relay.start();
  logger.info(`relay: publishing to JetStream stream ${config.eventsStream} from position ${relay.stats.position}`);
}

main().catch((error: unknown) => {
  rootLogger().error({ stack: error instanceof Error ? error.stack : undefined }, `relay failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
