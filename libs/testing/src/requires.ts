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

/**
 * Where an integration suite's services and callers meet: the NATS server at TEST_NATS_URL when
 * one answered, else the in-process bus of this jest worker (`connectBus` and the Nest
 * transport take either URL). Services booted inside the test process then run the same code
 * on either, as they do in the services topology and in the one-process composition.
 */
export const TEST_BUS_URL: string = natsAvailable ? TEST_NATS_URL : `in-process://tests-${process.pid}`;

/** The config of a service booted in a test, on TEST_BUS_URL (loadConfig's NATS_URL accepts NATS URLs only). */
export function onTestBus<C extends { natsUrl: string }>(config: C): C {
  return { ...config, natsUrl: TEST_BUS_URL };
}

/**
 * `describe` for suites that run their services inside the test process and reach them over
 * TEST_BUS_URL: on NATS when a server answered, else on the in-process bus, which the name then
 * says. Suites that need NATS itself (JetStream MT_EVENTS, reconnects, server permissions,
 * processes of their own) use describeWithNats instead.
 */
export function describeOnTestBus(name: string, fn: () => void): void {
  describe(natsAvailable ? name : `${name} (on the in-process bus: no NATS server at ${shownNatsUrl()})`, fn);
}
