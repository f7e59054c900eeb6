import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetsRpc } from '@modeltrail/contracts';
import { connectNats, type ManagedNatsConnection, RpcClient } from '@modeltrail/messaging';
import { describeWithNats, ensureBuilt, eventually, freePort, platformSandbox, signedRpcClient, type StartedPlatform, startPlatform, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';

/**
 * The README's start command, for real: the compiled platform started by infra/scripts/start.js
 * as separate processes, on a database that does not exist yet, driven over NATS.
 */
describeWithNats('npm start: the platform as separate processes', () => {
  const root = join(__dirname, '..');
  const sandbox = platformSandbox('e2e');
  const { namespace, eventsStream } = sandbox;
  const env: NodeJS.ProcessEnv = { ...process.env, ...sandbox.env, NODE_ENV: 'development' };
  let platform: StartedPlatform;
  let nats: ManagedNatsConnection;

  beforeAll(async () => {
    ensureBuilt(root);
    env.PORT = String(await freePort());
    env.ARTIFACT_ROOT = join(tmpdir(), uniqueName('mt-platform-artifacts'));
    // The local agent's state and job directories, apart from any other platform on this machine.
    env.AGENT_DATA_DIR = join(tmpdir(), uniqueName('mt-platform-agent'));
    platform = startPlatform(root, env);
    nats = await connectNats({ url: TEST_NATS_URL, name: 'e2e-caller' });
    await platform.waitFor([/datasets: serving/], 30_000);
  }, 90_000);

  afterAll(async () => {
    await platform.stop();
    await nats.close();
    await sandbox.remove();
  });

  it('creates the database, serves commands and queries, and relays events to JetStream', async () => {
    const rpc = signedRpcClient(nats.nc, { namespace, timeoutMs: 5000 });
    const headers = { actor: 'e2e@example.com', correlationId: randomUUID() };
    const registered = await rpc.request(datasetsRpc.registerDataset, { name: 'iris', description: 'Fisher 1936' }, { headers });
    const { datasetId } = registered;
    expect(registered).toMatchObject({ status: 'Active', revision: 0 });

    // The read model catches up, and the relay copied the event into the stream.
    await eventually(async () => expect((await rpc.request(datasetsRpc.listDatasets, {}, { headers })).items.map((d) => d.name)).toEqual(['iris']), { timeoutMs: 10_000 });
    const jsm = await nats.nc.jetstreamManager();
    // The local agent registers on its own schedule, so the stream may hold its event too: look the
    // dataset's event up by subject, and check it is the only dataset event there.
    const subject = `${namespace}.mt.evt.datasets.DatasetRegistered.v1`;
    const message = await eventually(async () => jsm.streams.getMessage(eventsStream, { last_by_subj: subject }), { timeoutMs: 10_000 });
    const perSubject = (await jsm.streams.info(eventsStream, { subjects_filter: `${namespace}.mt.evt.datasets.>` })).state.subjects;
    expect(perSubject).toEqual({ [subject]: 1 });
    expect(message.json<{ stream: string; metadata: { actor: string } }>()).toMatchObject({ stream: `dataset-${datasetId}`, metadata: { actor: 'e2e@example.com' } });
  });

  it('serves on 127.0.0.1 only, by default', async () => {
    await platform.waitFor([new RegExp(`gateway: GraphQL on http://127\\.0\\.0\\.1:${env.PORT}/graphql`)], 30_000);
  });

  it('stops every process on SIGTERM and exits cleanly', async () => {
    expect(await platform.stop()).toBe(0);
    expect(platform.output()).toMatch(/ModelTrail: stopping relay, datasets/);
    expect(platform.output()).not.toMatch(/exited \(\d+\); stopping the platform/);
  });

  it('refuses to start a service with bad configuration, naming the variable', () => {
    let failure: { status: number | null; stderr: Buffer } | undefined;
    try {
      execFileSync(process.execPath, [join(root, 'dist/services/datasets/src/main.js')], { env: { ...env, DATABASE_POOL_SIZE: 'many' }, stdio: 'pipe', timeout: 20_000 });
    } catch (error) {
      failure = error as { status: number | null; stderr: Buffer };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr.toString()).toMatch(/DATABASE_POOL_SIZE: must be a whole number between 1 and 200 \(got "many"\)/);
  });

  it('refuses to open the gateway to the network while the development token is accepted', () => {
    let failure: { status: number | null; stderr: Buffer } | undefined;
    try {
      execFileSync(process.execPath, [join(root, 'dist/gateway/src/main.js')], { env: { ...env, HOST: '0.0.0.0', API_TOKENS: '' }, stdio: 'pipe', timeout: 20_000 });
    } catch (error) {
      failure = error as { status: number | null; stderr: Buffer };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr.toString()).toMatch(/HOST: is 0.0.0.0, which is reachable from other machines, while the development token "dev-token" is accepted/);
  });

});
