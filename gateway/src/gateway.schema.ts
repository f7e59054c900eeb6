import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { GATEWAY_RESOLVERS } from './gateway.resolvers';

/** Path of the committed schema, from the repository root: the contract of the portals. */
export const SCHEMA_FILE = 'gateway/schema.gql';

const HEADER = `# ModelTrail GraphQL API — generated from the code in gateway/src; do not edit by hand.
# Regenerate: node dist/gateway/scripts/print-schema.js (after npm run build), or
# GRAPHQL_SCHEMA_OUT=gateway/schema.gql npx jest gateway/src/gateway.schema.spec.ts

`;

/** The API's schema built from the resolvers alone (no NATS, database or HTTP needed), sorted. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, { logger: false });
  try {
    return lexicographicSortSchema(await app.get(GraphQLSchemaFactory).create([...GATEWAY_RESOLVERS]));
  } finally {
    await app.close();
  }
}

/** The text of `gateway/schema.gql`. */
export function schemaText(schema: GraphQLSchema): string {
  return `${HEADER}${printSchema(lexicographicSortSchema(schema))}\n`;
}
