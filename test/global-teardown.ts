/** After every suite: stops the embedded PostgreSQL global-setup started, if it did, and removes its data. */
import { rm } from 'node:fs/promises';
import type { TestGlobals } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as TestGlobals).__modeltrailTestPostgres;
  if (!server) return;
  delete (globalThis as TestGlobals).__modeltrailTestPostgres;
  await server.stop();
  await rm(server.dataDir, { recursive: true, force: true });
}
