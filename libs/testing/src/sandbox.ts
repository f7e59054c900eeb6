import { connect } from 'nats';
import { Client } from 'pg';
import { ident } from '@modeltrail/postgres';
import { TEST_DATABASE_URL, TEST_NATS_URL, uniqueName } from './index';
import { natsAvailable } from './requires';

/**
 * Names of its own for one started platform in a test (a database that does not exist yet, a
 * NATS namespace, its JetStream streams), so that runs on one machine cannot collide. With
 * `bus: 'in-process'` the platform runs in one process (MODELTRAIL_MODE=one-process) and needs
 * no NATS server at all.
 */
export interface PlatformSandbox {
  database: string;
  databaseUrl: string;
  namespace: string;
  eventsStream: string;
  telemetryStream: string;
  /** Which messaging the platform runs on. */
  bus: 'nats' | 'in-process';
  /** DATABASE_URL, and NATS_URL, NATS_NAMESPACE, EVENTS_STREAM and TELEMETRY_STREAM (or MODELTRAIL_MODE=one-process) for the platform. */
  env: Record<string, string>;
  /** Events in the platform's store: a refused command must not add any. */
  storedEvents(): Promise<number>;
  /** Deletes the streams and drops the database, whatever of them exists (stop the processes first). */
  remove(): Promise<void>;
}

export function platformSandbox(prefix: string, options: { bus?: 'nats' | 'in-process' } = {}): PlatformSandbox {
  const bus = options.bus ?? 'nats';
  const database = uniqueName(`modeltrail_${prefix}`);
  const databaseUrl = Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${database}` }).toString();
  const namespace = uniqueName(prefix);
  const eventsStream = uniqueName(`MT_EVENTS_${prefix.toUpperCase()}`);
  const telemetryStream = uniqueName(`MT_TELEMETRY_${prefix.toUpperCase()}`);
  return {
    database,
    databaseUrl,
    namespace,
    eventsStream,
    telemetryStream,
    bus,
    env:
      bus === 'nats'
        ? { DATABASE_URL: databaseUrl, NATS_URL: TEST_NATS_URL, NATS_NAMESPACE: namespace, EVENTS_STREAM: eventsStream, TELEMETRY_STREAM: telemetryStream }
        : { DATABASE_URL: databaseUrl, MODELTRAIL_MODE: 'one-process' },
    async storedEvents() {
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM eventstore.events');
        return Number(rows[0].n);
      } finally {
        await db.end();
      }
    },
    async remove() {
      // Streams exist only where a NATS server took them (suites on the in-process bus where none answers have none).
      if (bus === 'nats' && natsAvailable) await removeStreams();
      const admin = new Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };

  async function removeStreams(): Promise<void> {
    const nc = await connect({ servers: TEST_NATS_URL, name: `${prefix}-cleanup` });
    try {
      const jsm = await nc.jetstreamManager();
      for (const stream of [eventsStream, telemetryStream]) await jsm.streams.delete(stream).catch(() => undefined);
    } finally {
      await nc.close();
    }
  }
}
