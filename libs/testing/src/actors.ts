import { actorSigningKeyFromEnvironment, type MessageBus, RpcClient, type RpcClientOptions } from '@modeltrail/messaging';

/**
 * The actor signing key of test runs: the one responders use when they are given none
 * (ACTOR_SIGNING_KEY, or else the development key DEVELOPMENT_ACTOR_SIGNING_KEY), so a test's
 * requests are signed as a platform process's are.
 */
export const TEST_ACTOR_SIGNING_KEY: Buffer = actorSigningKeyFromEnvironment();

/** An RpcClient whose requests are signed with TEST_ACTOR_SIGNING_KEY, as the gateway's and services' are. */
export function signedRpcClient(nc: MessageBus, options: Omit<RpcClientOptions, 'signingKey' | 'credential'> = {}): RpcClient {
  return new RpcClient(nc, { ...options, signingKey: TEST_ACTOR_SIGNING_KEY });
}
