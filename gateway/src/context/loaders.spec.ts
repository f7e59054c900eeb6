import type { EventStore } from '@modeltrail/eventstore';
import { registryLoaders } from '../registry/registry.loaders';
import { Loaders } from './loaders';
import type { RequestRpc } from './request-rpc';

describe('Loaders', () => {
  const loaders = () => new Loaders({} as RequestRpc, {} as EventStore);

  it("keeps another module's loader for the operation, and clearAll drops it with the rest (a subscription's next event looks up afresh)", () => {
    const ops = loaders();
    const ctx = { loaders: ops, rpc: {} as RequestRpc };
    const first = registryLoaders(ctx).modelVersions;
    expect(registryLoaders(ctx).modelVersions).toBe(first);
    expect(registryLoaders(ctx).models).not.toBe(first);
    ops.clearAll();
    expect(registryLoaders(ctx).modelVersions).not.toBe(first);
    // Another operation has its own.
    expect(registryLoaders({ loaders: loaders(), rpc: ctx.rpc }).models).not.toBe(registryLoaders(ctx).models);
  });
});
