import { TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { ensureDatabase } from './database';
import { acquireLeadership } from './leader';

describe('acquireLeadership', () => {
  beforeAll(() => ensureDatabase(TEST_DATABASE_URL));

  it('gives the lock to one holder at a time and hands it over on release', async () => {
    const name = uniqueName('leader');
    const first = await acquireLeadership(TEST_DATABASE_URL, name);
    let secondHeld = false;
    const second = acquireLeadership(TEST_DATABASE_URL, name, { retryMs: 50 }).then((l) => {
      secondHeld = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(secondHeld).toBe(false);
    await first.release();
    const leader = await second;
    expect(secondHeld).toBe(true);
    await leader.release();
  });

  it('stops waiting when aborted', async () => {
    const name = uniqueName('leader');
    const holder = await acquireLeadership(TEST_DATABASE_URL, name);
    const controller = new AbortController();
    const waiting = acquireLeadership(TEST_DATABASE_URL, name, { retryMs: 20, signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toThrow(/stopped waiting/);
    await holder.release();
  });
});
