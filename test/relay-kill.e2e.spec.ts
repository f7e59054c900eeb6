import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { EventCatalog } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectNats, type ManagedNatsConnection, MESSAGING_SCHEMA } from '@modeltrail/messaging';
import { createPool, ensureDatabase, ident } from '@modeltrail/postgres';
import { describeWithNats, ensureBuilt, eventually, platformSandbox, TEST_NATS_URL } from '@modeltrail/testing';

/**
 * The relay process killed with SIGKILL part-way through (no shutdown code runs), then started
 * again: JetStream ends up holding every stored event exactly once.
 */
describeWithNats('relay process killed part-way', () => {
  const root = join(__dirname, '..');
  const sandbox = platformSandbox('relaykill');
  const { databaseUrl, eventsStream } = sandbox;
  const env = { ...process.env, ...sandbox.env, SERVICE_NAME: 'relay' };
  const pool = createPool(databaseUrl, { max: 4 });
  const store = new PostgresEventStore({ pool, connectionString: databaseUrl, schema: 'eventstore', catalog: new EventCatalog({}, { strict: false }) });
  let nats: ManagedNatsConnection;
  const relays: ChildProcess[] = [];

  const startRelay = () => {
    const child = spawn(process.execPath, [join(root, 'dist/services/relay/src/main.js')], { cwd: root, env, stdio: 'ignore' });
    relays.push(child);
    return child;
  };
  const streamCount = async () => (await (await nats.nc.jetstreamManager()).streams.info(eventsStream).catch(() => undefined))?.state.messages ?? 0;
  const checkpoint = async () => Number((await pool.query(`SELECT position FROM ${ident(MESSAGING_SCHEMA)}.relay_checkpoints`)).rows[0]?.position ?? 0);

  beforeAll(async () => {
    ensureBuilt(root);
    await ensureDatabase(databaseUrl);
    await store.migrate();
    nats = await connectNats({ url: TEST_NATS_URL, name: 'relay-kill-test' });
  }, 90_000);

  afterAll(async () => {
    for (const relay of relays) if (relay.exitCode === null) relay.kill('SIGKILL');
    await nats.close();
    await store.close();
    await pool.end();
    await sandbox.remove();
  });

  it('leaves every event in the stream exactly once after a SIGKILL and a restart', async () => {
    const ids: string[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ id: crypto.randomUUID(), type: 'test.Tick.v1', data: { batch, i } }));
      ids.push(...events.map((e) => e.id));
      await store.append(`ticks-${batch % 8}`, events);
    }

    const first = startRelay();
    await eventually(async () => expect(await streamCount()).toBeGreaterThanOrEqual(800), { timeoutMs: 30_000, intervalMs: 5 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const heldAtKill = await streamCount();
    const checkpointAtKill = await checkpoint();
    expect(heldAtKill).toBeLessThan(ids.length);
    // The checkpoint never runs ahead of what the stream holds (positions are not counts).
    const inOrder = await store.readAll({ limit: 10_000 });
    expect(checkpointAtKill).toBeLessThanOrEqual(inOrder[heldAtKill - 1].position);

    startRelay();
    // More events while the second relay runs.
    for (let batch = 40; batch < 45; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ id: crypto.randomUUID(), type: 'test.Tick.v1', data: { batch, i } }));
      ids.push(...events.map((e) => e.id));
      await store.append(`ticks-${batch % 8}`, events);
    }
    const head = await store.headPosition();
    await eventually(async () => expect(await checkpoint()).toBe(head), { timeoutMs: 30_000, intervalMs: 50 });

    expect(await streamCount()).toBe(ids.length);
    const seen = new Set<string>();
    const jsm = await nats.nc.jetstreamManager();
    for (let seq = 1; seq <= ids.length; seq++) seen.add((await jsm.streams.getMessage(eventsStream, { seq })).header.get('Nats-Msg-Id'));
    expect(seen.size).toBe(ids.length);
    expect(ids.every((id) => seen.has(id))).toBe(true);
    console.info(`relay SIGKILL: stream held ${heldAtKill} of ${ids.length - 500} at the kill, checkpoint ${checkpointAtKill}; after restart ${ids.length} messages, all distinct`);
  });
});
