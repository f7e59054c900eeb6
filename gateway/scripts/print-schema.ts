/**
 * Writes the GraphQL schema the gateway serves to gateway/schema.gql (or the path given; `-`
 * prints it). Run from the repository root after a build: `node dist/gateway/scripts/print-schema.js`.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { buildGatewaySchema, SCHEMA_FILE, schemaText } from '../src/gateway.schema';

async function main(): Promise<void> {
  const target = process.argv[2] ?? SCHEMA_FILE;
  const text = schemaText(await buildGatewaySchema());
  if (target === '-') process.stdout.write(text);
  else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${target}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`print-schema failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
