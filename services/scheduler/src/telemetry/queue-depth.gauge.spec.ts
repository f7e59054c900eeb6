import { metricsRegistry } from '@modeltrail/observability';
import { ident } from '@modeltrail/postgres';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { SchedulerReader } from '../read-model/scheduler.reader';
import { QueueDepthGauge } from './queue-depth.gauge';

/** modeltrail_scheduler_queued_jobs counts the read model's QUEUED jobs at each scrape, while the gauge's module lives. */
describe('QueueDepthGauge', () => {
  let db: TestSchema;
  beforeAll(async () => {
    db = await createTestSchema('qdepth', 2);
    // The one column the count reads (the scheduler's migrations make the real table).
    await db.pool.query(`CREATE TABLE ${ident(db.schema)}.jobs (job_id text PRIMARY KEY, status text NOT NULL)`);
  });
  afterAll(async () => db?.drop());

  it('reports the queued jobs at each scrape, and nothing once stopped', async () => {
    const gauge = new QueueDepthGauge(new SchedulerReader(db.pool, db.schema), { readModelSchema: db.schema });
    gauge.onModuleInit();
    const value = async () => new RegExp(`^modeltrail_scheduler_queued_jobs\\{[^}]*schema="${db.schema}"[^}]*\\} (\\d+)$`, 'm').exec(await metricsRegistry.metrics())?.[1];
    await db.pool.query(`INSERT INTO ${ident(db.schema)}.jobs VALUES ('a', 'QUEUED'), ('b', 'QUEUED'), ('c', 'RUNNING')`);
    expect(await value()).toBe('2');
    await db.pool.query(`UPDATE ${ident(db.schema)}.jobs SET status = 'RUNNING' WHERE job_id = 'a'`);
    expect(await value()).toBe('1');
    gauge.onModuleDestroy();
    expect(await value()).toBeUndefined();
  });
});
