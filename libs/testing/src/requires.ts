import { TEST_NATS_URL } from './index';
import { natsServerBinary } from './nats-server';

/**
 * Suites that need something besides Node.js and PostgreSQL: skipped, saying why in their names,
 * where it is missing, so that `npm test` passes on a machine without it.
 */

/**
 * Whether a NATS server answered at TEST_NATS_URL: the jest global setup probes it and sets
 * MODELTRAIL_TEST_NATS to `up` or `down`; without that variable it is taken as up.
 */
export const natsAvailable: boolean = process.env.MODELTRAIL_TEST_NATS !== 'down';

/** TEST_NATS_URL as a test name may show it: any password replaced by `***`. */
function shownNatsUrl(): string {
  return TEST_NATS_URL.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@');
}

function natsMissing(): string | undefined {
  return natsAvailable ? undefined : ` (skipped: needs a NATS server at ${shownNatsUrl()}, none answered)`;
}

/** `describe`, or `describe.skip` with the reason appended to its name when no NATS server answered. */
export function describeWithNats(name: string, fn: () => void): void {
  const missing = natsMissing();
  if (missing) describe.skip(`${name}${missing}`, fn);
  else describe(name, fn);
}

/** `it`, or `it.skip` with the reason appended to its name when no NATS server answered (for a suite that needs NATS in some tests only). */
export function itWithNats(name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const missing = natsMissing();
  if (missing) it.skip(`${name}${missing}`, fn, timeout);
  else it(name, fn, timeout);
}

/**
 * `describe` for suites that run a nats-server of their own (they do not need one at
 * TEST_NATS_URL, but the binary), or `describe.skip` naming what is missing when it is not found.
 */
export function describeWithNatsServerBinary(name: string, fn: () => void): void {
  let missing: string | undefined;
  try {
    natsServerBinary();
  } catch (error) {
    missing = ` (skipped: needs the nats-server binary: ${error instanceof Error ? error.message : String(error)})`;
  }
  if (missing) describe.skip(`${name}${missing}`, fn);
  else describe(name, fn);
}
