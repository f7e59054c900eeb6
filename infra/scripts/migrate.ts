/** `npm run migrate`: creates the database and applies every migration, then exits. */
import { loadConfig } from '@modeltrail/config';
import { redactUrl } from '@modeltrail/postgres';
import { prepareDatabase } from './prepare-database';

loadConfigAndMigrate().catch((error: unknown) => {
  process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

async function loadConfigAndMigrate(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'migrate' });
  const applied = await prepareDatabase(config);
  process.stdout.write(`${redactUrl(config.databaseUrl)}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
}
