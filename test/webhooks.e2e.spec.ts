import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, eventually, freePort, platformSandbox, type StartedPlatform, startPlatform } from '@modeltrail/testing';
import { GraphQLHttpClient } from '../gateway/test/graphql-client';

/**
 * Webhooks through the public API on the platform as `npm start` starts it (one process, on the
 * in-process bus): a project admin subscribes an HTTP endpoint (started here) to dataset
 * registrations of a project, registers a dataset, and the endpoint gets the event as a signed
 * POST, which the webhook's delivery log then shows as delivered. A viewer may not create one,
 * and a bad URL or event type is refused without appending anything.
 */
describe('webhooks through GraphQL (one process, in-process bus)', () => {
  const root = join(__dirname, '..');
  const sandbox = platformSandbox('hooks', { bus: 'in-process' });
  const artifactRoot = mkdtempSync(join(tmpdir(), 'mt-hooks-'));
  let platform: StartedPlatform;
  let ada: GraphQLHttpClient;
  let bob: GraphQLHttpClient;
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let projectId: string;

  beforeAll(async () => {
    ensureBuilt(root);
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/modeltrail-events`;

    const port = await freePort();
    const env = {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: artifactRoot,
      AGENT_DATA_DIR: join(artifactRoot, 'agent'),
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      PLATFORM_ADMINS: 'ada@example.com',
      NODE_ENV: 'development',
      WEBHOOK_BASE_DELAY_MS: '200',
    };
    platform = startPlatform(root, env);
    await platform.waitFor([/gateway: GraphQL on/, /webhooks: serving/]);
    ada = new GraphQLHttpClient(`http://127.0.0.1:${port}/graphql`, 'ada-token');
    bob = new GraphQLHttpClient(`http://127.0.0.1:${port}/graphql`, 'bob-token');

    const { defineProject } = await ada.data(
      `mutation { defineProject(input: { name: "hooks-e2e", problem: "Who leaves next month", taskType: BINARY_CLASSIFICATION, target: "churned",
        successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`,
    );
    projectId = defineProject.id;
    await ada.data(`mutation($p: ID) { grantRole(input: { projectId: $p, principal: "bob@example.com", role: VIEWER }) { role } }`, { p: projectId });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    if (platform) {
      mkdirSync(join(root, 'test-results'), { recursive: true });
      writeFileSync(join(root, 'test-results', 'webhooks-e2e.log'), platform.output());
    }
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    await sandbox.remove();
    rmSync(artifactRoot, { recursive: true, force: true });
  });

  it('delivers a lifecycle event as a signed POST, and the delivery log shows it delivered', async () => {
    const { createWebhook } = await ada.data(
      `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id projectId url eventTypes status secretVersion createdBy } } }`,
      { input: { url: receiverUrl, eventTypes: ['datasets.DatasetRegistered.v1'], projectId, description: 'new data in hooks-e2e' } },
    );
    expect(createWebhook.secret).toMatch(/^whsec_/);
    expect(createWebhook.webhook).toMatchObject({ projectId, url: receiverUrl, eventTypes: ['datasets.DatasetRegistered.v1'], status: 'ACTIVE', secretVersion: 1, createdBy: 'ada@example.com' });
    const webhookId = createWebhook.webhook.id;

    const { registerDataset } = await ada.data(`mutation($p: ID) { registerDataset(input: { name: "customers", projectId: $p, description: "monthly extract" }) { id } }`, { p: projectId });
    await eventually(() => expect(received).toHaveLength(1), { timeoutMs: 20_000, intervalMs: 100 });

    const [post] = received;
    const body = JSON.parse(post.body);
    expect(body).toMatchObject({ type: 'datasets.DatasetRegistered.v1', stream: `dataset-${registerDataset.id}`, actor: 'ada@example.com', data: { datasetId: registerDataset.id, projectId, name: 'customers' } });
    expect(post.headers['modeltrail-event-id']).toBe(body.id);
    // What a receiver does: HMAC-SHA256 with the secret over "<t>.<raw body>", compared in constant time.
    const signature = Object.fromEntries(String(post.headers['modeltrail-signature']).split(',').map((part) => part.split('=')));
    const expected = createHmac('sha256', createWebhook.secret).update(`${signature.t}.${post.body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.v1, 'hex'), expected)).toBe(true);

    const deliveries = await eventually(
      async () => {
        const { webhook } = await ada.data(`query($id: ID!) { webhook(id: $id) { id deliveries { nodes { id eventId eventType status attempts log { attempt statusCode error } } } } }`, { id: webhookId });
        expect(webhook.deliveries.nodes[0]?.status).toBe('DELIVERED');
        return webhook.deliveries.nodes;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(deliveries).toEqual([{ id: post.headers['modeltrail-delivery-id'], eventId: body.id, eventType: 'datasets.DatasetRegistered.v1', status: 'DELIVERED', attempts: 1, log: [{ attempt: 1, statusCode: 204, error: null }] }]);
    const { webhooks } = await ada.data(`query($p: ID) { webhooks(projectId: $p) { nodes { id } } }`, { p: projectId });
    expect(webhooks.nodes).toEqual([{ id: webhookId }]);

    // A viewer of the project sees neither the webhook nor its deliveries.
    const viewing = await bob.request(`query($id: ID!) { webhook(id: $id) { id url } }`, { id: webhookId });
    expect(viewing.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });

  it('refuses createWebhook to a viewer (FORBIDDEN) and a bad URL or event type (BAD_USER_INPUT), appending nothing', async () => {
    const create = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }`;
    const before = await sandbox.storedEvents();

    const asViewer = await bob.request(create, { input: { url: receiverUrl, eventTypes: ['*'], projectId } });
    expect(asViewer.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(asViewer.errors![0].message).toMatch(/ADMIN/);
    const unscoped = await bob.request(create, { input: { url: receiverUrl, eventTypes: ['*'] } });
    expect(unscoped.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });

    const badUrl = await ada.request(create, { input: { url: 'ftp://files.example.com/drop', eventTypes: ['*'], projectId } });
    expect(badUrl.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(badUrl.errors![0].message).toMatch(/url/);
    const badType = await ada.request(create, { input: { url: receiverUrl, eventTypes: ['registry.PromotionTeleported.v1'], projectId } });
    expect(badType.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(badType.errors![0].message).toMatch(/unknown event type registry\.PromotionTeleported\.v1/);
    expect(badType.text).not.toMatch(/stacktrace|\.ts:\d+/);

    expect(await sandbox.storedEvents()).toBe(before);
  });
});
