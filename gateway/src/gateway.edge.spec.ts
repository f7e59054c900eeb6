import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { buildClientSchema, buildSchema, getIntrospectionQuery, type IntrospectionQuery, lexicographicSortSchema, printSchema } from 'graphql';
import { ConfigError, loadConfig } from '@modeltrail/config';
import { withNamespace } from '@modeltrail/contracts';
import { connectBus, encodeJson, type ManagedBus } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, onTestBus, TEST_BUS_URL, TEST_DATABASE_URL, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { type Closed, GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../test/graphql-client';
import { createGatewayApp, GATEWAY_KEEP_ALIVE_MS } from './gateway.app';
import { GatewayModule, GRAPHQL_PATH, WS_UNAUTHENTICATED } from './gateway.module';
import { SCHEMA_FILE } from './gateway.schema';

const NO_STACK = /stacktrace|\bat [^"]*\.(ts|js):\d+/;

/**
 * The gateway's edge, with no service behind it: authentication, request validation, limits,
 * error mapping, and what happens when a service is missing or answers nonsense.
 */
describeOnTestBus('gateway edge (no services running)', () => {
  const schema = uniqueName('gwedge');
  const config = onTestBus(
    loadConfig({
      SERVICE_NAME: 'gateway',
      DATABASE_URL: TEST_DATABASE_URL,
      NATS_NAMESPACE: schema,
      EVENTSTORE_SCHEMA: schema,
      READ_MODEL_SCHEMA: schema,
      API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      GRAPHQL_MAX_DEPTH: '6',
    }),
  );
  let app: INestApplication;
  let http: GraphQLHttpClient;
  let nats: ManagedBus;
  const pool = createPool(TEST_DATABASE_URL, { max: 1 });

  beforeAll(async () => {
    app = await createGatewayApp(config, { logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    http = new GraphQLHttpClient(`http://127.0.0.1:${port}${GRAPHQL_PATH}`, 'ada-token');
    nats = await connectBus({ url: TEST_BUS_URL, name: 'gateway-edge-test' });
  });
  afterAll(async () => {
    await app?.close();
    await nats?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
  });

  describe('authentication', () => {
    it('refuses a request without a token: 401, UNAUTHENTICATED, and says how to authenticate', async () => {
      const response = await http.request('{ __typename }', {}, { token: null });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.errors).toEqual([{ message: 'missing bearer token: send the header "Authorization: Bearer <token>"', extensions: { code: 'UNAUTHENTICATED' } }]);
      expect(response.data).toBeUndefined();
    });

    it('refuses an unknown token and a malformed header, and the development token once API_TOKENS is set', async () => {
      for (const [headers, message] of [
        [{ authorization: 'Bearer not-a-token' }, 'unknown bearer token'],
        [{ authorization: 'Bearer dev-token' }, 'unknown bearer token'],
        [{ authorization: 'Basic YWRhOnNlY3JldA==' }, 'malformed authorization: expected "Bearer <token>"'],
      ] as const) {
        const response = await http.request('{ __typename }', {}, { token: null, headers });
        expect(response.status).toBe(401);
        expect(response.errors).toEqual([{ message, extensions: { code: 'UNAUTHENTICATED' } }]);
      }
    });

    it('accepts a configured token and answers with the correlation id it was given, or a new one', async () => {
      const correlationId = randomUUID();
      const given = await http.request('{ __typename }', {}, { headers: { 'x-correlation-id': correlationId } });
      expect(given.status).toBe(200);
      expect(given.data).toEqual({ __typename: 'Query' });
      expect(given.headers.get('x-correlation-id')).toBe(correlationId);
      const made = await http.request('{ __typename }', {}, { token: 'bob-token', headers: { 'x-correlation-id': 'not-a-uuid' } });
      expect(made.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('keeps idle connections longer than clients and load balancers do, so none is closed under a request on its way', async () => {
      const response = await http.request('{ __typename }');
      expect(response.headers.get('keep-alive')).toBe(`timeout=${GATEWAY_KEEP_ALIVE_MS / 1000}`);
    });

    it('refuses a WebSocket connection without a token, or with an unknown one, with close code 4401 and the reason', async () => {
      for (const [params, reason] of [
        [undefined, 'UNAUTHENTICATED: missing bearer token: send the header "Authorization: Bearer <token>"'],
        [{ authorization: 'Bearer wrong' }, 'UNAUTHENTICATED: unknown bearer token'],
      ] as const) {
        let closed: Closed | undefined;
        const client = webSocketClient(http.url, params, (c) => (closed = c));
        const subscription = new SubscriptionQueue(client, 'subscription { runMetrics(runId: "00000000-0000-4000-8000-000000000000") { key } }');
        const failure = (await subscription.failure()) as { code: number; reason: string };
        expect({ code: failure.code, reason: failure.reason }).toEqual({ code: WS_UNAUTHENTICATED, reason });
        expect(closed).toEqual({ code: WS_UNAUTHENTICATED, reason });
        await client.dispose();
      }
    });

    it('refuses to boot in production without ACTOR_SIGNING_KEY, naming the variable (API keys and OIDC need no API_TOKENS)', () => {
      const production = loadConfig({ NODE_ENV: 'production', SERVICE_NAME: 'gateway', DATABASE_URL: TEST_DATABASE_URL, NATS_URL: TEST_NATS_URL });
      expect(() => GatewayModule.forRoot(production)).toThrow(ConfigError);
      expect(() => GatewayModule.forRoot(production)).toThrow(/ACTOR_SIGNING_KEY: is required when NODE_ENV=production/);
      const keyed = loadConfig({ NODE_ENV: 'production', SERVICE_NAME: 'gateway', DATABASE_URL: TEST_DATABASE_URL, NATS_URL: TEST_NATS_URL, ACTOR_SIGNING_KEY: Buffer.alloc(32, 9).toString('base64') });
      expect(() => GatewayModule.forRoot(keyed)).not.toThrow();
    });
  });

  describe('requests GraphQL itself refuses', () => {
    const post = (body: string) =>
      fetch(http.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ada-token' }, body }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }));

    it('answers a body that is not JSON, or too large to read, as a GraphQL error with its code, not an HTML page with a stack', async () => {
      const broken = await post('{"query": ');
      expect(broken).toMatchObject({ status: 400, type: expect.stringMatching(/^application\/json/) });
      expect(JSON.parse(broken.text)).toEqual({ errors: [{ message: expect.stringMatching(/^the request body is not valid JSON: /), extensions: { code: 'BAD_USER_INPUT' } }] });
      expect(broken.text).not.toMatch(NO_STACK);

      const huge = await post(JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(10 * 1024 * 1024) } }));
      expect(huge).toMatchObject({ status: 413, type: expect.stringMatching(/^application\/json/) });
      expect(JSON.parse(huge.text)).toEqual({ errors: [{ message: expect.stringMatching(/^the request body is larger than the 9mb the gateway accepts: send fewer items per call/), extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    });

    it('reads a batch of 10,000 metric points (far over 100 kB of JSON), and refuses a command too large for one NATS message by name', async () => {
      const log = 'mutation($input: LogMetricsInput!) { logMetrics(input: $input) { accepted } }';
      const points = (key: string) => Array.from({ length: 10_000 }, (_, step) => ({ key, value: 0.123456789, step }));
      // Read and sent: no experiments service runs here, so it is the service that is missing.
      const sent = await http.request(log, { input: { runId: randomUUID(), points: points('loss') } });
      expect(sent.errors?.[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      // 10,000 points with 200-character keys are over 2 MB: more than one NATS message carries.
      const tooLarge = await http.request(log, { input: { runId: randomUUID(), points: points('k'.repeat(200)) } });
      expect(tooLarge.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/^request to mt\.cmd\.experiments\.LogMetrics is [\d,]+ KiB, more than the [\d,]+ KiB one message may carry \(the NATS server's max_payload\)/),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });

    it('reports a query that does not validate, with its code and no stack trace', async () => {
      const response = await http.request('{ dataset(id: "x") { nope } }');
      expect(response.status).toBe(400);
      expect(response.errors).toEqual([
        { message: expect.stringMatching(/^Cannot query field "nope" on type "Dataset"/), locations: [{ line: 1, column: 22 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      ]);
      expect(response.text).not.toMatch(NO_STACK);
    });

    it('reports a syntax error and a variable of the wrong type', async () => {
      const syntax = await http.request('{ dataset(id: ');
      expect(syntax.errors?.[0].extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
      const variable = await http.request('query ($id: ID!) { dataset(id: $id) { id } }', { id: { not: 'an id' } });
      expect(variable.errors?.[0]).toMatchObject({ message: expect.stringMatching(/Variable "\$id" got invalid value/), extensions: { code: 'BAD_USER_INPUT' } });
      expect(variable.text).not.toMatch(NO_STACK);
    });

    it('refuses a malformed id before asking any service, naming the argument', async () => {
      const response = await http.request('{ dataset(id: "not-a-uuid") { id } }');
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ dataset: null });
      expect(response.errors).toEqual([
        {
          message: 'argument id is invalid: field "id": must be a UUID',
          locations: [{ line: 1, column: 3 }],
          path: ['dataset'],
          extensions: { code: 'BAD_USER_INPUT', details: { issues: [{ field: 'id', message: 'must be a UUID' }] } },
        },
      ]);
    });

    it('refuses a malformed Idempotency-Key header', async () => {
      const response = await http.request('{ __typename }', {}, { headers: { 'idempotency-key': 'has spaces in it' } });
      expect(response.status).toBe(400);
      expect(response.errors?.[0]).toMatchObject({ message: 'the Idempotency-Key header must be 1 to 255 visible ASCII characters', extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('limits query depth over HTTP and WebSocket, saying what the limit is', async () => {
      const atLimit = '{ datasetVersion(id: "x") { dataset { project { experiments { nodes { id } } } } } }';
      const tooDeep = '{ datasetVersion(id: "x") { dataset { project { experiments { nodes { project { id } } } } } } }';
      expect((await http.request(atLimit)).errors?.[0].extensions?.code).not.toBe('GRAPHQL_VALIDATION_FAILED');
      const response = await http.request(tooDeep);
      expect(response.status).toBe(400);
      expect(response.errors).toEqual([
        expect.objectContaining({
          message: 'this query nests fields 7 levels deep; the limit is 6: ask for less at once, or follow ids in a second request',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { depth: 7, maxDepth: 6 } },
        }),
      ]);

      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        const deep = new SubscriptionQueue(client, 'subscription Deep { runMetrics(runId: "x") { key } } query Q { datasetVersion(id: "x") { dataset { project { experiments { nodes { project { id } } } } } } }', {});
        const errors = (await deep.failure()) as Array<{ message: string; extensions?: Record<string, unknown> }>;
        expect(errors).toEqual([
          expect.objectContaining({ message: expect.stringMatching(/operation "Q" nests fields 7 levels deep; the limit is 6/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { depth: 7, maxDepth: 6 } } }),
        ]);
        const invalid = new SubscriptionQueue(client, 'subscription { runMetrics(runId: "x") { nope } }');
        expect(await invalid.failure()).toEqual([expect.objectContaining({ message: 'Cannot query field "nope" on type "MetricPoint".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
      } finally {
        await client.dispose();
      }
    });

    it('serves, by introspection, exactly the committed schema', async () => {
      const { data } = await http.request<IntrospectionQuery>(getIntrospectionQuery());
      const served = printSchema(lexicographicSortSchema(buildClientSchema(data!)));
      const committed = printSchema(lexicographicSortSchema(buildSchema(readFileSync(join(__dirname, '..', '..', SCHEMA_FILE), 'utf8'))));
      expect(served).toBe(committed);
    });
  });

  describe('services that are missing or broken', () => {
    it('answers SERVICE_UNAVAILABLE naming the service when nobody serves a request', async () => {
      const response = await http.request('{ dataset(id: "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b") { id } }');
      expect(response.data).toEqual({ dataset: null });
      expect(response.errors).toEqual([
        expect.objectContaining({
          message: 'the datasets service is unavailable: no service answers mt.qry.datasets.GetDatasets (no responders)',
          path: ['dataset'],
          extensions: { code: 'SERVICE_UNAVAILABLE', details: { subject: 'mt.qry.datasets.GetDatasets', service: 'datasets' } },
        }),
      ]);
    });

    it('turns a reply it cannot read into INTERNAL_SERVER_ERROR naming the correlation id, without details', async () => {
      const broken = nats.nc.subscribe(withNamespace(schema, 'mt.qry.experiments.GetProjects'), {
        callback: (_error, msg) => msg.respond(encodeJson({ ok: true, data: { items: [{ projectId: 'oops' }] } })),
      });
      await nats.nc.flush();
      try {
        const correlationId = randomUUID();
        const response = await http.request('{ project(id: "3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b") { name } }', {}, { headers: { 'x-correlation-id': correlationId } });
        expect(response.data).toEqual({ project: null });
        expect(response.errors).toEqual([
          { message: `internal error (correlation id ${correlationId})`, locations: [{ line: 1, column: 3 }], path: ['project'], extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId } },
        ]);
        expect(response.text).not.toMatch(NO_STACK);
        expect(response.text).not.toMatch(/does not match its schema/);
      } finally {
        broken.unsubscribe();
      }
    });

    it('answers NOT_FOUND for the history of an id no stream has', async () => {
      const id = randomUUID();
      const response = await http.request('query ($id: ID!) { history(entityId: $id) { stream } }', { id });
      expect(response.data).toBeNull();
      expect(response.errors?.[0]).toMatchObject({
        message: `no entity has the id ${id} (looked for dataset-, dataset-version-, project-, experiment-, run-, job-, agent-, sweep-, model-, model-version-, deployment-, monitor- streams)`,
        extensions: { code: 'NOT_FOUND', details: { entityId: id } },
      });
    });
  });
});
