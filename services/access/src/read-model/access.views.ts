import { Logger } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { type ApiKeyView, accessRpc, NotFoundError, type PrincipalAccess, type RoleGrantView, type RpcReply, UnauthenticatedError, UnavailableError } from '@modeltrail/contracts';
import type { EventStore } from '@modeltrail/eventstore';
import { findCaughtUp, type ProjectionRunner } from '@modeltrail/readmodel';
import { apiKeyStream } from '../api-key/api-key.decider';
import { type ApiKeyRecordedEvent, evolveApiKey } from './access.projection';
import type { ApiKeyRow } from './access.tables';
import { type AccessReader, type ApiKeyRecord, apiKeyView, principalAccessOf } from './access.reader';

/** How long a reply waits for the read model to show what its command appended. */
const REPLY_WAIT_MS = 10_000;
/** How long a lookup waits for the read model to show an entity created a moment ago. */
const LOOKUP_WAIT_MS = 5_000;
const MINUTE_MS = 60_000;

/**
 * Views as the service answers them: from the read model, once it reflects what the caller just
 * did. A command's reply waits for the position of its append (UNAVAILABLE if that takes longer
 * than REPLY_WAIT_MS): since every replica reads the same tables, once a GrantRole, RevokeRole,
 * CreateApiKey or RevokeApiKey has been answered, PrincipalAccess and AuthenticateApiKey on any
 * replica see it. What another caller changed a moment ago shows after the projection's lag
 * (normally milliseconds: the runner applies each event as it arrives).
 *
 * AuthenticateApiKey does not depend on that wait for a new key: a key the read model lacks is
 * read from its stream, so a key works the moment CreateApiKey has appended it.
 */
export class AccessViews {
  private readonly logger = new Logger('AccessViews');

  constructor(
    readonly reader: AccessReader,
    private readonly store: EventStore,
    private readonly runners: ReadonlyArray<ProjectionRunner>,
  ) {}

  /** Resolves once the read model reflects `position` (UNAVAILABLE when it does not in time). */
  async caughtUp(position: number | undefined): Promise<void> {
    if (!position) return;
    try {
      await Promise.all(this.runners.map((runner) => runner.waitFor(position, REPLY_WAIT_MS)));
    } catch {
      throw new UnavailableError(`the change was recorded (position ${position}) but the read model has not caught up yet: read it again shortly`, { position });
    }
  }

  /** Keys by id (those that exist), once the read model shows a key created a moment ago. */
  async keys(keyIds: ReadonlyArray<string>, now: Date): Promise<ApiKeyView[]> {
    const records = await findCaughtUp({ ids: keyIds, find: () => this.reader.keys(keyIds), idOf: (r) => r.keyId, streamOf: apiKeyStream, store: this.store, runners: this.runners, timeoutMs: LOOKUP_WAIT_MS });
    return records.map((record) => apiKeyView(record, now));
  }

  /** A key after a command on it (appended at `position`, or nothing appended): NOT_FOUND when there is none. */
  async key(keyId: string, position: number | undefined, now: Date): Promise<ApiKeyView> {
    await this.caughtUp(position);
    const [found] = await this.reader.keys([keyId]);
    const record = found ?? (await this.keyFromStore(keyId));
    if (!record) throw new NotFoundError(`API key ${keyId} does not exist`, { keyId });
    return apiKeyView(record, now);
  }

  /** The grant in force of a principal in a scope after a GrantRole that appended at `position` (or nothing). */
  async grantAfter(scope: string, principal: string, position: number | undefined): Promise<RoleGrantView> {
    await this.caughtUp(position);
    let grant = await this.reader.currentGrant(scope, principal);
    if (!grant && position === undefined) {
      // Nothing appended (the role was held already), but granted a moment ago by someone else.
      await this.headReached();
      grant = await this.reader.currentGrant(scope, principal);
    }
    if (!grant) throw new UnavailableError(`the grant of ${principal} in ${scope} is not in the read model yet: read it again shortly`, { scope, principal });
    return grant;
  }

  /** The grant a RevokeRole ended with its change at `position`. */
  async grantEndedAt(scope: string, principal: string, position: number | undefined): Promise<RoleGrantView> {
    if (position === undefined) throw new Error(`RevokeRole of ${principal} in ${scope} appended nothing and names no earlier position`);
    await this.caughtUp(position);
    const grant = await this.reader.grantEndedAt(scope, principal, position);
    if (!grant) throw new UnavailableError(`the revocation of ${principal} in ${scope} is not in the read model yet: read it again shortly`, { scope, principal, position });
    return grant;
  }

  /** A principal's grants in force now (see the class comment for how fresh they are). */
  async principalAccess(principal: string): Promise<PrincipalAccess> {
    return principalAccessOf(principal, await this.reader.grantsOf(principal));
  }

  /**
   * The key presented, when it is a key that may act now, with its principal's access. Every
   * refusal is the same UNAUTHENTICATED 'invalid API key' (a caller learns nothing of which keys
   * exist); the reason is logged at warn, without the secret or its hash.
   */
  async authenticate(keyId: string, secretHash: string, now: Date): Promise<RpcReply<typeof accessRpc.authenticateApiKey>> {
    const found = await this.reader.keyWithGrants(keyId);
    const key = found?.key ?? (await this.keyFromStore(keyId));
    if (!key) return this.refuse(keyId, 'no such key');
    if (!sameHash(key.secretHash, secretHash)) return this.refuse(keyId, 'wrong secret');
    if (key.revokedAt) return this.refuse(keyId, `revoked at ${key.revokedAt.toISOString()} by ${key.revokedBy}`);
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return this.refuse(keyId, `expired at ${key.expiresAt.toISOString()}`);
    const minute = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
    let lastUsedAt = key.lastUsedAt;
    if (!lastUsedAt || lastUsedAt.getTime() < minute.getTime()) {
      try {
        await this.reader.touch(keyId, minute);
        lastUsedAt = minute;
      } catch (error) {
        // Operational data only: a failed write must not refuse a valid key.
        this.logger.warn(`could not record the use of API key ${keyId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const grants = found ? found.grants : await this.reader.grantsOf(key.principal);
    return { key: apiKeyView({ ...key, lastUsedAt }, now), access: principalAccessOf(key.principal, grants) };
  }

  /** A key folded from its stream (the read model may not show a key created a moment ago), or null. */
  async keyFromStore(keyId: string): Promise<ApiKeyRecord | null> {
    const events = await this.store.readStream(apiKeyStream(keyId));
    let row: ApiKeyRow | undefined;
    for (const event of events) row = evolveApiKey(row, event as ApiKeyRecordedEvent);
    if (!row) return null;
    return { ...row, lastUsedAt: await this.reader.lastUsedAt(keyId) };
  }

  private refuse(keyId: string, reason: string): never {
    this.logger.warn(`API key ${keyId} refused: ${reason}`);
    throw new UnauthenticatedError('invalid API key');
  }

  /** Waits (a while at most) until the read model reflects every event stored so far. */
  private async headReached(): Promise<void> {
    const head = await this.store.headPosition();
    await Promise.all(this.runners.map((runner) => runner.waitFor(head, LOOKUP_WAIT_MS))).catch(() => undefined);
  }
}

/** Two SHA-256 digests (hex) compared in constant time on their 32 bytes. */
export function sameHash(storedHex: string, presentedHex: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  const presented = Buffer.from(presentedHex, 'hex');
  if (stored.length !== 32 || presented.length !== 32) return false;
  return timingSafeEqual(stored, presented);
}
