import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { Logger } from '@nestjs/common';
import { buildSchema, parse } from 'graphql';
import { ErrorFormatter } from '../errors/error-formatter';
import { depthLimitRule } from './depth-limit';
import { hardeningParseOptions, hardeningPlugins, hardeningProblems, hardeningValidationRules, introspectionEnabled } from './hardening';
import { IdentityRateLimiter, rateLimitedError } from './rate-limit';

/**
 * The limits wired into Apollo Server 5 the way gateway.module.ts wires them (validationRules,
 * plugins, introspection, parseOptions, formatError, a context that consumes the rate limit), over the API's
 * schema: what reaches the client, status and body.
 */
const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.gql'), 'utf8'));
const access = { graphqlMaxAliases: 30, graphqlMaxCost: 20_000, graphqlMaxBatch: 10, graphqlIntrospection: false, rateLimitPerMinute: 600, rateLimitBurst: 3 };
const config = { access } as never as Parameters<typeof hardeningPlugins>[0];
const ID = '3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b';

describe('the hardening wired into Apollo Server', () => {
  const errors = new ErrorFormatter(config as never);
  const limiter = IdentityRateLimiter.fromConfig(config);
  const server = new ApolloServer<{ user: string; correlationId?: string }>({
    schema,
    introspection: introspectionEnabled(config),
    parseOptions: hardeningParseOptions(),
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(12), ...hardeningValidationRules(config)],
    plugins: [errors.plugin(), ...hardeningPlugins(config)],
    formatError: errors.formatError,
  });
  // No resolvers here: a query that passes the limits ends in a (logged) null error, not the subject.
  const quiet = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    quiet.mockRestore();
  });

  let users = 0;
  /** `query` as `user`, by default one of its own (the rate limit is 3 per user at once). */
  async function post(query: string, variables: Record<string, unknown> = {}, user = `user-${++users}`) {
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers: new HeaderMap([['content-type', 'application/json']]), search: '', body: { query, variables } },
      context: async () => {
        const decision = await limiter.consume(user);
        if (!decision.ok) throw rateLimitedError(decision.retryAfterSeconds);
        return { user };
      },
    });
    const text = response.body.kind === 'complete' ? response.body.string : '';
    return { status: response.status ?? 200, headers: response.headers, body: JSON.parse(text) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
  }

  it('refuses 5,000 aliases (by the token limit: they cannot be written in fewer), and 31 by the alias limit, naming it', async () => {
    const many = await post(`{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(many.status).toBe(400);
    expect(many.body.data).toBeUndefined();
    expect(many.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^this document has more than 2000 tokens/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const typenames = await post(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(typenames.body.errors?.[0].message).toMatch(/^this query uses 31 aliases; the limit is 30/);
    const exact = await post(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: logKey { keyName }`).join(' ')} }`);
    expect(exact.status).toBe(400);
    expect(exact.body).toEqual({
      errors: [
        {
          message: 'this query uses 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES): ask for each field once, or send several requests',
          locations: [{ line: 1, column: 1 }],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { aliases: 31, maxAliases: 30 } },
        },
      ],
    });
  });

  it('refuses a document over the token limit with 400, before parsing', async () => {
    const refused = await post(`{ ${'__typename '.repeat(10_000)}}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: [{ message: 'this document has more than 2000 tokens, the limit: send a smaller query', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { tokens: 2001, maxTokens: 2000 } } }] });
  });

  it('refuses an expensive query with 400, its cost and the limit, literal or through variables', async () => {
    const literal = await post('{ datasets(first: 200) { nodes { versions(first: 200) { nodes { id } } } } }');
    expect(literal.status).toBe(400);
    expect(literal.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^this query costs 80401; the limit is 20000/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { cost: 80401, maxCost: 20000 } } })]);
    const variables = await post('query Pages($n: Int!) { datasets(first: $n) { nodes { versions(first: $n) { nodes { id } } } } }', { n: 200 });
    expect(variables.status).toBe(400);
    expect(variables.body.errors?.[0].message).toMatch(/^operation "Pages" costs 80401/);
    const lineage = await post(`{ lineage(id: "${ID}", depth: 1000000) { totalNodes } }`);
    expect([lineage.status, lineage.body.errors?.[0].extensions?.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect((await post('{ datasets(first: 200) { nodes { id name } } }')).status).toBe(200);
  });

  it('refuses introspection when it is off, and hides field suggestions', async () => {
    const introspection = await post('{ __schema { types { name } } }');
    expect(introspection.status).toBe(400);
    expect(introspection.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/introspection is not allowed/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const typo = await post(`{ dataset(id: "${ID}") { nme } }`);
    expect(typo.body.errors?.[0].message).toBe('Cannot query field "nme" on type "Dataset".');
  });

  it('answers a refused identity with 429, Retry-After and RATE_LIMITED', async () => {
    for (let i = 0; i < 3; i++) expect((await post('{ __typename }', {}, 'eve')).status).toBe(200);
    const refused = await post('{ __typename }', {}, 'eve');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.body).toEqual({ errors: [{ message: expect.stringMatching(/^too many requests: try again in \d+ s/), extensions: { code: 'RATE_LIMITED', details: { retryAfterSeconds: retryAfter } } }] });
  });

  it('gives graphql-ws the same refusals (hardeningProblems in onSubscribe)', () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `k${i}: key`).join(' ');
    expect(hardeningProblems(parse(`subscription { runMetrics(runId: "${ID}") { ${aliases} } }`), schema, {}, config).map((p) => p.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});
