import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { accessPolicies, enforceAccess } from './access/enforce';
import { buildGatewaySchema, SCHEMA_FILE, schemaText } from './gateway.schema';

const root = join(__dirname, '..', '..');

/** gateway/schema.gql is the portals' contract: it must be exactly what the code serves. */
describe('the committed GraphQL schema', () => {
  it('is what the resolvers generate', async () => {
    const generated = schemaText(await buildGatewaySchema());
    // GRAPHQL_SCHEMA_OUT=gateway/schema.gql npx jest gateway/src/gateway.schema.spec.ts rewrites it.
    const out = process.env.GRAPHQL_SCHEMA_OUT;
    if (out) writeFileSync(join(root, out), generated);
    const committed = readFileSync(join(root, SCHEMA_FILE), 'utf8');
    if (committed !== generated) {
      throw new Error(`${SCHEMA_FILE} is out of date with gateway/src: regenerate it (GRAPHQL_SCHEMA_OUT=${SCHEMA_FILE} npx jest gateway/src/gateway.schema.spec.ts) and review the diff`);
    }
    expect(() => buildSchema(committed)).not.toThrow();
  });
});

describe('access policies', () => {
  it('every root field of the schema has one, and the schema builds with access enforced', async () => {
    const schema = await buildGatewaySchema();
    const policies = accessPolicies(schema);
    const missing = [...policies].filter(([, policy]) => policy === undefined).map(([field]) => field);
    expect(missing).toEqual([]);
    expect(policies.size).toBeGreaterThan(80);
    expect(() => enforceAccess(schema)).not.toThrow();
  });

  it('a root field without a policy stops the gateway from starting, naming it', () => {
    const schema = buildSchema('type Query { open: String }');
    expect(() => enforceAccess(schema)).toThrow(/root fields without an access policy.*Query\.open/);
  });
});
