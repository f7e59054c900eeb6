import { createHash, randomUUID } from 'node:crypto';
import type { MessageBus } from './bus';
import { accessRpc, agentIdOfPrincipal, parseApiKey, UnauthenticatedError } from '@modeltrail/contracts';
import type { CredentialVerifier, VerifiedCredential } from './actor-auth';
import { RpcClient } from './rpc.client';

export interface ApiKeyCredentialVerifierOptions {
  /** The service's actor in its AuthenticateApiKey requests (`service:<name>`). */
  actor: string;
  /** How long a positive answer is kept (default and at most 30 s; never past the key's expiry). */
  cacheMs?: number;
  now?: () => number;
  /** Entries kept at most (default 1000). */
  maxEntries?: number;
}

/** What the verifier needs of an RpcClient (a signed one). */
export type AccessRequester = Pick<RpcClient, 'request'>;

/**
 * Checks agent credentials with the access service (AuthenticateApiKey, signed as the service):
 * only an ACTIVE AGENT key is accepted, and its principal must be `agent:<its agentId>`. Positive
 * answers are kept for at most 30 s (a revoked key stops working within that) and never past the
 * key's expiry; negative answers are not kept.
 */
export class ApiKeyCredentialVerifier implements CredentialVerifier {
  private readonly cache = new Map<string, { principal: string; until: number }>();
  private readonly inFlight = new Map<string, Promise<VerifiedCredential>>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly rpc: AccessRequester,
    private readonly options: ApiKeyCredentialVerifierOptions,
  ) {
    this.cacheMs = Math.min(options.cacheMs ?? 30_000, 30_000);
    this.now = options.now ?? Date.now;
  }

  async verify(credential: string): Promise<VerifiedCredential> {
    const parsed = parseApiKey(credential);
    if (!parsed) throw new UnauthenticatedError('the agent credential is not an API key');
    const secretHash = createHash('sha256').update(parsed.secret, 'utf8').digest('hex');
    const cacheKey = `${parsed.keyId}:${secretHash}`;
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > this.now()) return { principal: cached.principal };
    if (cached) this.cache.delete(cacheKey);
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      pending = this.authenticate(parsed.keyId, secretHash, cacheKey).finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  private async authenticate(keyId: string, secretHash: string, cacheKey: string): Promise<VerifiedCredential> {
    const { key } = await this.rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash }, { headers: { actor: this.options.actor, correlationId: randomUUID() } });
    if (key.kind !== 'AGENT') throw new UnauthenticatedError(`API key ${keyId} is a ${key.kind} key, not an AGENT key`);
    if (key.status !== 'ACTIVE') throw new UnauthenticatedError(`API key ${keyId} is ${key.status}`);
    if (!key.agentId || agentIdOfPrincipal(key.principal) !== key.agentId.toLowerCase()) throw new UnauthenticatedError(`API key ${keyId} does not act as its agent`);
    const now = this.now();
    const expiresAt = key.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(key.expiresAt);
    if (expiresAt <= now) throw new UnauthenticatedError(`API key ${keyId} has expired`);
    const until = Math.min(now + this.cacheMs, expiresAt);
    if (this.cache.size >= (this.options.maxEntries ?? 1000)) {
      for (const [k, entry] of this.cache) if (entry.until <= now) this.cache.delete(k);
      if (this.cache.size >= (this.options.maxEntries ?? 1000)) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(cacheKey, { principal: key.principal, until });
    return { principal: key.principal };
  }
}

export interface AgentCredentialsOptions {
  /** The actor signing key: the AuthenticateApiKey requests are signed as the service. */
  signingKey: Buffer;
  /** The service's actor (`service:<name>`). */
  actor: string;
  namespace?: string;
  timeoutMs?: number;
}

/**
 * The `credentials` of a responder whose definitions agents may call (ActorVerification): an
 * ApiKeyCredentialVerifier asking the access service over the responder's own connection.
 */
export function agentCredentials(options: AgentCredentialsOptions): (nc: MessageBus) => CredentialVerifier {
  return (nc) => new ApiKeyCredentialVerifier(new RpcClient(nc, { signingKey: options.signingKey, namespace: options.namespace, timeoutMs: options.timeoutMs }), { actor: options.actor });
}
