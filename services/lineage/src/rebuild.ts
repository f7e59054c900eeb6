/**
 * `npm run lineage:rebuild`: drops the lineage graph (nodes, edges, timelines and the
 * OpenLineage state) and replays the whole event store into it, then exits. Stop the running
 * lineage services first: they keep the same tables. The Merkle log is not touched: it is the
 * record of what the store held when each event was seen, not a projection.
 */
import { ConfigError, loadConfig } from '@modeltrail/config';
import { platformEventCatalog } from '@modeltrail/contracts';
import { openEventStore } from '@modeltrail/eventstore';
import { createPool, ident, redactUrl } from '@modeltrail/postgres';
import { migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { lineageMigrations } from './lineage.migrations';
import { lineageReadModel } from './lineage.read-model';

export interface RebuildResult {
  events: number;
  position: number;
  seconds: number;
}

export async function rebuildLineage(environment: NodeJS.ProcessEnv, say: (line: string) => void): Promise<RebuildResult> {
  const config = loadConfig(environment, { serviceName: 'lineage' });
  const pool = createPool(config.databaseUrl, { max: 4, applicationName: 'modeltrail-lineage-rebuild' });
  const store = await openEventStore(config, pool, platformEventCatalog());
  try {
    await migrateReadModel(pool, config.readModelSchema, 'lineage', lineageMigrations);
    const runner = new ProjectionRunner({ store, pool, schema: config.readModelSchema, projection: lineageReadModel });
    const head = await store.headPosition();
    say(`lineage: rebuilding ${lineageReadModel.name} in schema ${config.readModelSchema} of ${redactUrl(config.databaseUrl)} from ${head ? `the store up to position ${head}` : 'an empty store'}`);
    const started = process.hrtime.bigint();
    await runner.rebuild();
    await runner.start();
    try {
      await runner.waitFor(head, 24 * 3600 * 1000);
    } finally {
      await runner.stop();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows } = await pool.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${ident(config.readModelSchema)}.lineage_events`);
    const events = Number(rows[0].n);
    say(`lineage: rebuilt to position ${runner.position} in ${seconds.toFixed(1)} s (${events} events in the graph)`);
    return { events, position: runner.position, seconds };
  } finally {
    await store.close();
    await pool.end();
  }
}

if (require.main === module) {
  rebuildLineage(process.env, (line) => process.stdout.write(`${line}\n`)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `lineage rebuild failed: ${error instanceof Error ? error.message : String(error)}`}\n`);
    process.exit(1);
  });
}
