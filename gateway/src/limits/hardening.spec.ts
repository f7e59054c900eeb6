import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { LINEAGE_LEVEL_COST, MAX_LINEAGE_DEPTH, MAX_PAGE_SIZE, operationCost } from './cost';
import { costProblem, hardeningParseOptions, hardeningProblems, hardeningValidationRules, introspectionEnabled, MAX_DIRECTIVES, MAX_TOKENS, tokenLimitError, tokenProblem } from './hardening';

/** The API's own schema: costs are checked against the real page sizes and their defaults. */
const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.gql'), 'utf8'));
const access = { graphqlMaxAliases: 30, graphqlMaxCost: 20_000, graphqlMaxBatch: 10, graphqlIntrospection: false, rateLimitPerMinute: 600, rateLimitBurst: 120 };
const config = { access } as never as Parameters<typeof hardeningValidationRules>[0];
const ID = '3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b';

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: dataset(id: "${ID}") { id }`).join(' ')} }`;
const errorsOf = (query: string) => validate(schema, parse(query), [...specifiedRules, ...hardeningValidationRules(config)]);

describe('aliases', () => {
  it('lets up to GRAPHQL_MAX_ALIASES aliases through and refuses more, naming the limit and the count', () => {
    expect(errorsOf(aliases(30))).toEqual([]);
    const errors = errorsOf(aliases(5_000));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe('this query uses 5000 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES): ask for each field once, or send several requests');
    expect(errors[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', details: { aliases: 5000, maxAliases: 30 }, http: { status: 400 } });
  });

  it('counts aliases in fragments, and names the operation', () => {
    const fragment = `fragment F on Dataset { ${Array.from({ length: 20 }, (_, i) => `f${i}: id`).join(' ')} }`;
    const errors = errorsOf(`query Twice { a: dataset(id: "${ID}") { ...F } b: dataset(id: "${ID}") { ...F } } ${fragment}`);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^operation "Twice" uses 42 aliases; the limit is 30/)]);
  });
});

describe('directives', () => {
  it(`refuses more than ${MAX_DIRECTIVES} directives in one operation`, () => {
    const query = `{ dataset(id: "${ID}") { id ${'@include(if: true) '.repeat(MAX_DIRECTIVES + 1)} } }`;
    expect(errorsOf(query).map((e) => e.message)).toContain(`this query uses ${MAX_DIRECTIVES + 1} directives; the limit is ${MAX_DIRECTIVES}`);
  });
});

describe('tokens', () => {
  it('counts tokens without parsing and stops at the limit', () => {
    expect(tokenProblem('{ a b c }', 5)).toBeNull();
    const problem = tokenProblem('{ a b c d e f }', 5);
    expect(problem?.message).toBe('this document has more than 5 tokens, the limit: send a smaller query');
    expect(problem?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', details: { tokens: 6, maxTokens: 5 } });
    const huge = `{ ${'__typename '.repeat(2_000_000)}}`;
    const started = Date.now();
    expect(tokenProblem(huge)?.extensions.details).toEqual({ tokens: MAX_TOKENS + 1, maxTokens: MAX_TOKENS });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('is a parser option, whose syntax error becomes the same refusal', () => {
    expect(() => parse(`{ ${'a '.repeat(MAX_TOKENS)}}`, hardeningParseOptions())).toThrow(/Document contains more tha[nt] 2000 tokens/);
    expect(tokenLimitError('Syntax Error: Document contains more than 2000 tokens. Parsing aborted.')?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', details: { tokens: 2001, maxTokens: 2000 }, http: { status: 400 } });
    expect(tokenLimitError('Syntax Error: Unexpected Name "x".')).toBeNull();
  });

  it('leaves a syntax error to the parser', () => {
    expect(tokenProblem('{ "unterminated')).toBeNull();
  });
});

describe('cost', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) => operationCost(schema, parse(query), variables);

  it('multiplies what a page selects by its size, the schema default when not given', () => {
    expect(cost('{ datasets(first: 200) { nodes { id name } } }')).toBe(1 + 200 * (1 + 2));
    expect(cost('{ datasets { nodes { id } } }')).toBe(1 + 20 * 2);
    expect(cost('query ($n: Int!) { datasets(first: $n) { nodes { id } } }', { n: 100 })).toBe(1 + 100 * 2);
  });

  it('multiplies nested pages: first 200 nested twice is over the default limit', () => {
    const nested = '{ datasets(first: 200) { nodes { versions(first: 200) { nodes { id } } } } }';
    expect(cost(nested)).toBe(1 + 200 * (1 + 1 + 200 * 2));
    const problem = costProblem(schema, parse(nested), {}, 20_000, parse(nested).definitions[0] as never);
    expect(problem?.message).toMatch(/^this query costs 80401; the limit is 20000 \(GRAPHQL_MAX_COST\)/);
    expect(problem?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', details: { cost: 80401, maxCost: 20000 }, http: { status: 400 } });
  });

  it('counts a page over the largest any field serves as that largest (the field refuses it itself, by name)', () => {
    expect(cost('{ job(id: "x") { logs(first: 10000) { nodes { line } } } }')).toBe(1 + 1 + MAX_PAGE_SIZE * 2);
  });

  it('counts a list of ids by its length', () => {
    const compare = 'query ($ids: [ID!]!) { compareRuns(ids: $ids) { commonParams { key } } }';
    const one = cost(compare, { ids: [ID] });
    expect(cost(compare, { ids: Array.from({ length: 100 }, () => ID) })).toBe(1 + 100 * (one - 1));
  });

  it('counts the depth of a lineage walk, an omitted depth as the deepest', () => {
    const lineage = (depth: string) => `{ lineage(id: "${ID}"${depth}, first: 10) { nodes { id } } }`;
    expect(cost(lineage(', depth: 2'))).toBe(1 + 2 * LINEAGE_LEVEL_COST + 10 * (1 + 1));
    expect(cost(lineage(''))).toBe(1 + MAX_LINEAGE_DEPTH * LINEAGE_LEVEL_COST + 10 * (1 + 1));
    expect(costProblem(schema, parse(lineage(', depth: 1000000')), {}, 20_000)?.extensions.details).toEqual({ cost: 1 + 1_000_000 * LINEAGE_LEVEL_COST + 20, maxCost: 20_000 });
  });

  it('lets an ordinary page of lineage through (default page of 500, no depth)', () => {
    const query = `{ lineage(id: "${ID}") { position totalNodes nodes { id kind name depth direction createdAt } edges { from to type } pageInfo { endCursor hasNextPage } } }`;
    expect(validate(schema, parse(query))).toEqual([]);
    expect(cost(query)).toBeLessThan(20_000);
  });

  it('leaves variables that do not fit to execution', () => {
    expect(costProblem(schema, parse('query ($n: Int!) { datasets(first: $n) { nodes { id } } }'), { n: 'many' }, 10)).toBeNull();
  });
});

describe('for graphql-ws', () => {
  it('reports tokens, aliases and cost of every operation of the document', () => {
    expect(hardeningProblems(parse('subscription { runMetrics(runId: "x") { key } }'), schema, {}, config)).toEqual([]);
    expect(hardeningProblems(parse(aliases(31)), schema, {}, config).map((e) => e.extensions.details)).toEqual([{ aliases: 31, maxAliases: 30 }]);
    const expensive = parse('query Q { datasets(first: 200) { nodes { versions(first: 200) { nodes { id } } } } } subscription S { runMetrics(runId: "x") { key } }');
    expect(hardeningProblems(expensive, schema, {}, config).map((e) => e.message)).toEqual([expect.stringMatching(/^operation "Q" costs 80401; the limit is 20000/)]);
    expect(hardeningProblems(parse(`{ ${'__typename '.repeat(MAX_TOKENS)}}`), schema, {}, config).map((e) => e.extensions.details)).toEqual([{ tokens: MAX_TOKENS + 1, maxTokens: MAX_TOKENS }]);
  });
});

describe('introspection', () => {
  it('follows GRAPHQL_INTROSPECTION', () => {
    expect(introspectionEnabled(config)).toBe(false);
    expect(introspectionEnabled({ access: { ...access, graphqlIntrospection: true } } as never)).toBe(true);
  });
});
