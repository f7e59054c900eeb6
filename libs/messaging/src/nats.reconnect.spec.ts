import { defineRpc, z } from '@modeltrail/contracts';
import { describeWithNatsServerBinary, eventually, type PrivateNatsServer, signedRpcClient, startPrivateNatsServer } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { connectNats, type ManagedNatsConnection } from './nats.connection';
import { RpcClient } from './rpc.client';
import { serveRpc } from './rpc.server';

/** Connections outlive a NATS outage: the server is killed and started again under them. */
describeWithNatsServerBinary('NATS reconnect', () => {
  let server: PrivateNatsServer;
  beforeAll(async () => {
    server = await startPrivateNatsServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('answers requests again after the server comes back, with no re-subscription by the caller', async () => {
    const Ping = defineRpc('mt.qry.reconnect.Ping', z.object({ n: z.number() }), z.object({ n: z.number() }));
    const statuses: string[] = [];
    const options = { url: server.url, reconnectTimeWaitMs: 100, logger: new RecordingLogger(), onStatus: (s: { type: string }) => statuses.push(String(s.type)) };
    const responder: ManagedNatsConnection = await connectNats({ ...options, name: 'reconnect-responder' });
    const caller: ManagedNatsConnection = await connectNats({ ...options, name: 'reconnect-caller' });
    const served = serveRpc(responder.nc, Ping, (req) => ({ n: req.n + 1 }), { logger: new RecordingLogger() });
    // The subscription reaches the server before the first request (another connection) is sent.
    await responder.nc.flush();
    const rpc = signedRpcClient(caller.nc, { timeoutMs: 1000 });
    const headers = { actor: 'test', correlationId: 'reconnect' };
    try {
      await expect(rpc.request(Ping, { n: 1 }, { headers })).resolves.toEqual({ n: 2 });

      await server.stop();
      await eventually(() => expect(statuses).toContain('disconnect'), { timeoutMs: 5000 });
      await expect(rpc.request(Ping, { n: 2 }, { headers, timeoutMs: 300 })).rejects.toThrow(/timed out|no responders|closed|disconnect/i);

      await server.start();
      await eventually(() => expect(statuses.filter((s) => s === 'reconnect').length).toBeGreaterThanOrEqual(2), { timeoutMs: 10_000 });
      await eventually(async () => expect(await rpc.request(Ping, { n: 41 }, { headers })).toEqual({ n: 42 }), { timeoutMs: 10_000 });
    } finally {
      await served.stop();
      await responder.close();
      await caller.close();
    }
  });
});
