import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventMap, type MessageHeaders, platformEventCatalog, ValidationError, type WebhookDeliveryView } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { migrateReadModel, ProjectionRunner } from '@modeltrail/readmodel';
import { createTestSchema, eventually, type TestSchema } from '@modeltrail/testing';
import type { AddressPolicy } from './delivery/address-policy';
import { WebhookDelivery, type WebhookDeliveryOptions } from './delivery/webhook.delivery';
import { webhookDeliveryAttempts } from './delivery/webhook.metrics';
import { WebhookMatcher } from './matching/webhook.matcher';
import { webhooksProjection } from './read-model/webhooks.projection';
import { WebhooksReader } from './read-model/webhooks.reader';
import { WebhookHandlers } from './webhook/webhook.handlers';
import { WebhookSecrets } from './webhook/webhook.secrets';
import { webhooksMigrations } from './webhooks.migrations';

/**
 * The webhooks service's matcher, outbox and delivery worker against the real PostgreSQL (store
 * and tables in one test schema), with HTTP receivers started in the test.
 */

const project = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const otherProject = '7c7c7c7c-8f55-4d69-a4a1-6c1f7e1e2f00';
const headers: MessageHeaders = { actor: 'ada@example.com', correlationId: 'corr-webhooks' };
const open: AddressPolicy = { blockPrivate: false, allowedHosts: new Set() };
const t = (second: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, second)).toISOString();

type Append = { stream: string; type: keyof EventMap; data: EventMap[keyof EventMap] };
const e = <K extends keyof EventMap>(stream: string, type: K, data: EventMap[K]): Append => ({ stream, type, data });

const projectDefined = (projectId: string, name: string) =>
  e(`project-${projectId}`, 'experiments.ProjectDefined.v1', { projectId, name, problem: 'Who leaves', taskType: 'BINARY_CLASSIFICATION', target: 'churned', successCriteria: [], definedAt: t(1) });
const datasetRegistered = (datasetId: string, projectId: string | null, name: string) =>
  e(`dataset-${datasetId}`, 'datasets.DatasetRegistered.v1', { datasetId, name, description: '', projectId, registeredAt: t(2) });
const versionRegistered = (datasetVersionId: string, datasetId: string) =>
  e(`dataset-version-${datasetVersionId}`, 'datasets.DatasetVersionRegistered.v1', {
    datasetVersionId,
    datasetId,
    uri: 'file:///data/churn/customers-v1.csv',
    format: 'CSV',
    digest: 'ab'.repeat(32),
    size: 2048,
    rows: 100,
    schema: null,
    profile: null,
    profiled: false,
    registeredAt: t(3),
  });

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on 127.0.0.1 that records every request and answers as `answer` says. */
async function receiver(answer: (request: Received, index: number) => number | Promise<number> = () => 200): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const status = await answer(request, received.length - 1);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `failure number ${received.length}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/modeltrail`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What a receiver does with the signature header: HMAC-SHA256 over "<t>.<raw body>", compared in constant time. */
function signatureMatches(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=')));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The attempts counted so far, by outcome. */
async function attemptCounts(): Promise<Record<'DELIVERED' | 'RETRYING' | 'PARKED', number>> {
  const counts = { DELIVERED: 0, RETRYING: 0, PARKED: 0 };
  for (const value of (await webhookDeliveryAttempts.get()).values) counts[value.labels.outcome as keyof typeof counts] = value.value;
  return counts;
}

interface World {
  db: TestSchema;
  store: PostgresEventStore;
  handlers: WebhookHandlers;
  reader: WebhooksReader;
  matcher: WebhookMatcher;
  append(events: Append[]): Promise<void>;
  /** Every event appended so far is matched. */
  matched(): Promise<void>;
  delivery(options?: Partial<WebhookDeliveryOptions>): WebhookDelivery;
  deliveries(webhookId: string): Promise<WebhookDeliveryView[]>;
  close(): Promise<void>;
}

async function world(prefix: string, policy: AddressPolicy = open): Promise<World> {
  const db = await createTestSchema(prefix);
  const store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
  await store.migrate();
  await migrateReadModel(db.pool, db.schema, 'webhooks', webhooksMigrations);
  const runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: webhooksProjection });
  await runner.start();
  const reader = new WebhooksReader(db.pool, db.schema, store, [runner]);
  const handlers = new WebhookHandlers(store, { now: () => new Date().toISOString() }, policy, reader, new WebhookSecrets(db.pool, db.schema));
  const matcher = new WebhookMatcher({ store, pool: db.pool, schema: db.schema });
  await matcher.start();
  const workers: WebhookDelivery[] = [];
  return {
    db,
    store,
    handlers,
    reader,
    matcher,
    async append(events) {
      for (const { stream, type, data } of events) await store.append(stream, [{ type, data, metadata: { actor: 'ada@example.com', correlationId: 'corr-webhooks' } }]);
    },
    async matched() {
      await matcher.waitFor(await store.headPosition());
    },
    delivery(options = {}) {
      const worker = new WebhookDelivery({ pool: db.pool, schema: db.schema, policy: open, baseDelayMs: 20, maxDelayMs: 5_000, timeoutMs: 5_000, random: () => 0.5, ...options });
      workers.push(worker);
      return worker;
    },
    async deliveries(webhookId) {
      return (await reader.deliveries({ webhookId, first: 200 })).items;
    },
    async close() {
      for (const worker of workers) await worker.stop();
      await matcher.stop();
      await runner.stop();
      await store.close();
      await db.drop();
    },
  };
}

describe('webhooks: matching, delivery, retries (PostgreSQL, HTTP receivers)', () => {
  let w: World;
  afterEach(async () => w?.close());

  it("delivers a matching event of the webhook's project, signed, and nothing else", async () => {
    w = await world('wh_match');
    const hook = await receiver();
    try {
      const datasetId = randomUUID();
      const otherDatasetId = randomUUID();
      const versionId = randomUUID();
      const created = await w.handlers.create(
        {
          webhookId: randomUUID(),
          url: hook.url,
          eventTypes: ['datasets.DatasetRegistered.v1', 'datasets.DatasetVersionRegistered.v1', 'experiments.ProjectDefined.v1'],
          projectId: project,
          description: 'data arrivals',
        },
        headers,
      );
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      expect(created.webhook).toMatchObject({ status: 'ACTIVE', projectId: project, secretVersion: 1, createdBy: 'ada@example.com' });
      // The secret is in no event.
      const stored = await w.store.readStream(`webhook-${created.webhook.webhookId}`);
      expect(JSON.stringify(stored)).not.toContain(created.secret);

      await w.append([
        projectDefined(project, 'Churn'),
        projectDefined(otherProject, 'Fraud'),
        datasetRegistered(datasetId, project, 'customers'),
        datasetRegistered(otherDatasetId, otherProject, 'transactions'),
        // No projectId of its own: it takes its dataset's.
        versionRegistered(versionId, datasetId),
        versionRegistered(randomUUID(), otherDatasetId),
        e(`experiment-${randomUUID()}`, 'experiments.ExperimentCreated.v1', { experimentId: randomUUID(), projectId: project, name: 'gbm', description: '', createdAt: t(4) }),
      ]);
      await w.matched();
      const delivery = w.delivery();
      await eventually(async () => {
        await delivery.deliverOnce();
        expect(hook.received).toHaveLength(3);
      });

      const types = hook.received.map((r) => JSON.parse(r.body).type);
      expect(types).toEqual(['experiments.ProjectDefined.v1', 'datasets.DatasetRegistered.v1', 'datasets.DatasetVersionRegistered.v1']);
      for (const request of hook.received) {
        const body = JSON.parse(request.body);
        expect(Object.keys(body).sort()).toEqual(['actor', 'data', 'id', 'occurredAt', 'position', 'stream', 'type']);
        expect(body.actor).toBe('ada@example.com');
        expect(request.headers['content-type']).toBe('application/json');
        expect(request.headers['modeltrail-event-id']).toBe(body.id);
        expect(request.headers['modeltrail-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(request.headers['modeltrail-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(signatureMatches(created.secret, String(request.headers['modeltrail-signature']), request.body)).toBe(true);
        expect(signatureMatches('whsec_not-the-secret', String(request.headers['modeltrail-signature']), request.body)).toBe(false);
      }
      expect(JSON.parse(hook.received[2].body).data).toMatchObject({ datasetVersionId: versionId, datasetId });

      const log = await w.deliveries(created.webhook.webhookId);
      expect(log).toHaveLength(3);
      expect(log.every((d) => d.status === 'DELIVERED' && d.attempts === 1 && d.log[0].statusCode === 200)).toBe(true);
      // Matching again (a replayed batch) enqueues nothing new.
      expect(await w.db.pool.query(`SELECT count(*)::int AS n FROM "${w.db.schema}".webhook_deliveries`).then((r) => r.rows[0].n)).toBe(3);
    } finally {
      await hook.close();
    }
  });

  it('retries a failing receiver with growing delays: 500, 500, then 200 is three attempts in the log', async () => {
    w = await world('wh_retry');
    const hook = await receiver((_request, index) => (index < 2 ? 500 : 200));
    try {
      const { webhook } = await w.handlers.create({ webhookId: randomUUID(), url: hook.url, eventTypes: ['experiments.ProjectDefined.v1'], projectId: null, description: '' }, headers);
      await w.append([projectDefined(project, 'Churn')]);
      await w.matched();
      const attemptsBefore = await attemptCounts();
      const delivery = w.delivery({ baseDelayMs: 100, maxAttempts: 5 });
      await eventually(
        async () => {
          await delivery.deliverOnce();
          expect((await w.deliveries(webhook.webhookId))[0].status).toBe('DELIVERED');
        },
        { timeoutMs: 15_000, intervalMs: 20 },
      );
      const [sent] = await w.deliveries(webhook.webhookId);
      expect(sent.attempts).toBe(3);
      expect(sent.log.map((a) => a.statusCode)).toEqual([500, 500, 200]);
      expect(sent.log[0].error).toMatch(/^HTTP 500: failure number 1/);
      expect(sent.log[2]).toMatchObject({ error: null, nextAttemptAt: null });
      const delays = sent.log.slice(0, 2).map((a) => Date.parse(a.nextAttemptAt!) - Date.parse(a.attemptedAt));
      expect(delays[1]).toBeGreaterThan(delays[0]);
      expect(hook.received).toHaveLength(3);
      // /metrics counts the attempts by the state they left the delivery in.
      const attemptsAfter = await attemptCounts();
      expect({ RETRYING: attemptsAfter.RETRYING - attemptsBefore.RETRYING, DELIVERED: attemptsAfter.DELIVERED - attemptsBefore.DELIVERED }).toEqual({ RETRYING: 2, DELIVERED: 1 });
      // Every attempt carries the same event and delivery ids.
      expect(new Set(hook.received.map((r) => `${r.headers['modeltrail-event-id']}/${r.headers['modeltrail-delivery-id']}`)).size).toBe(1);
    } finally {
      await hook.close();
    }
  });

  it('parks a delivery after its last try; redelivery puts it back and it is delivered', async () => {
    w = await world('wh_park');
    let up = false;
    const hook = await receiver(() => (up ? 204 : 503));
    try {
      const { webhook } = await w.handlers.create({ webhookId: randomUUID(), url: hook.url, eventTypes: ['*'], projectId: project, description: '' }, headers);
      await w.append([projectDefined(project, 'Churn')]);
      await w.matched();
      const delivery = w.delivery({ maxAttempts: 2 });
      await eventually(async () => {
        await delivery.deliverOnce();
        expect((await w.deliveries(webhook.webhookId)).find((d) => d.eventType === 'experiments.ProjectDefined.v1')?.status).toBe('PARKED');
      });
      const parked = (await w.deliveries(webhook.webhookId)).find((d) => d.eventType === 'experiments.ProjectDefined.v1')!;
      expect(parked).toMatchObject({ attempts: 2, nextAttemptAt: null, lastStatusCode: 503 });
      // Parked: the worker leaves it alone.
      await delivery.deliverOnce();
      expect((await w.reader.delivery(parked.deliveryId)).attempts).toBe(2);

      up = true;
      const back = await w.handlers.redeliver({ deliveryId: parked.deliveryId }, { ...headers, actor: 'bob@example.com' });
      expect(back).toMatchObject({ status: 'PENDING', redeliveredBy: 'bob@example.com' });
      // Pending already: nothing to put back.
      await expect(w.handlers.redeliver({ deliveryId: parked.deliveryId }, headers)).rejects.toThrow(/is PENDING/);
      await eventually(async () => {
        await delivery.deliverOnce();
        expect((await w.reader.delivery(parked.deliveryId)).status).toBe('DELIVERED');
      });
      const done = await w.reader.delivery(parked.deliveryId);
      expect(done.log.map((a) => a.statusCode)).toEqual([503, 503, 204]);
      await expect(w.handlers.redeliver({ deliveryId: randomUUID() }, headers)).rejects.toThrow(/does not exist/);
    } finally {
      await hook.close();
    }
  });

  it('never sends one delivery twice from two workers on the same outbox', async () => {
    w = await world('wh_two');
    const hook = await receiver(() => new Promise<number>((resolve) => setTimeout(() => resolve(200), 5)));
    try {
      const { webhook } = await w.handlers.create({ webhookId: randomUUID(), url: hook.url, eventTypes: ['datasets.DatasetRegistered.v1'], projectId: null, description: '' }, headers);
      const count = 60;
      await w.append(Array.from({ length: count }, (_, i) => datasetRegistered(randomUUID(), project, `set-${i}`)));
      await w.matched();
      const first = w.delivery({ batchSize: 7, concurrency: 3 });
      const second = w.delivery({ batchSize: 7, concurrency: 3 });
      await eventually(
        async () => {
          await Promise.all([first.deliverOnce(), second.deliverOnce(), first.deliverOnce(), second.deliverOnce()]);
          expect(hook.received.length).toBeGreaterThanOrEqual(count);
        },
        { timeoutMs: 30_000 },
      );
      const ids = hook.received.map((r) => String(r.headers['modeltrail-delivery-id']));
      expect(ids).toHaveLength(count);
      expect(new Set(ids).size).toBe(count);
      const log = await w.deliveries(webhook.webhookId);
      expect(log.filter((d) => d.status === 'DELIVERED' && d.attempts === 1)).toHaveLength(count);
    } finally {
      await hook.close();
    }
  });

  it('matches from its own event on: no delivery before a webhook existed, none while paused, cancelled once deleted', async () => {
    w = await world('wh_life');
    const hook = await receiver();
    try {
      await w.append([projectDefined(project, 'Before')]);
      const { webhook } = await w.handlers.create({ webhookId: randomUUID(), url: hook.url, eventTypes: ['experiments.ProjectDefined.v1'], projectId: null, description: '' }, headers);
      await w.handlers.pause({ webhookId: webhook.webhookId }, headers);
      await w.append([projectDefined(randomUUID(), 'While paused')]);
      await w.handlers.resume({ webhookId: webhook.webhookId }, headers);
      await w.append([projectDefined(randomUUID(), 'After')]);
      await w.matched();
      const names = (await w.deliveries(webhook.webhookId)).map((d) => d.eventType);
      expect(names).toEqual(['experiments.ProjectDefined.v1']);

      const deleted = await w.handlers.delete({ webhookId: webhook.webhookId }, headers);
      expect(deleted.status).toBe('DELETED');
      await w.matched();
      expect((await w.deliveries(webhook.webhookId))[0].status).toBe('CANCELLED');
      expect(await w.db.pool.query(`SELECT count(*)::int AS n FROM "${w.db.schema}".webhook_secrets`).then((r) => r.rows[0].n)).toBe(0);
    } finally {
      await hook.close();
    }
  });

  it('refuses, in production, a URL on a loopback address unless WEBHOOK_ALLOWED_HOSTS lists it, appending nothing', async () => {
    w = await world('wh_ssrf', { blockPrivate: true, allowedHosts: new Set() });
    const before = await w.store.headPosition();
    await expect(w.handlers.create({ webhookId: randomUUID(), url: 'http://127.0.0.1:9/hook', eventTypes: ['*'], projectId: null, description: '' }, headers)).rejects.toThrow(ValidationError);
    await expect(w.handlers.create({ webhookId: randomUUID(), url: 'http://169.254.169.254/latest/meta-data', eventTypes: ['*'], projectId: null, description: '' }, headers)).rejects.toThrow(/link-local|private|loopback/);
    await expect(w.handlers.create({ webhookId: randomUUID(), url: 'http://localhost:9/hook', eventTypes: ['*'], projectId: null, description: '' }, headers)).rejects.toThrow(/loopback/);
    expect(await w.store.headPosition()).toBe(before);
    expect(await w.db.pool.query(`SELECT count(*)::int AS n FROM "${w.db.schema}".webhook_secrets`).then((r) => r.rows[0].n)).toBe(0);

    const allowing = new WebhookHandlers(w.store, { now: () => new Date().toISOString() }, { blockPrivate: true, allowedHosts: new Set(['127.0.0.1']) }, w.reader, new WebhookSecrets(w.db.pool, w.db.schema));
    const { webhook } = await allowing.create({ webhookId: randomUUID(), url: 'http://127.0.0.1:9/hook', eventTypes: ['*'], projectId: null, description: '' }, headers);
    expect(webhook.status).toBe('ACTIVE');
  });
});
