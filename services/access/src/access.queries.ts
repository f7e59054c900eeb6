import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { accessRpc, type RpcReply, ValidationError, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { decodeTimeCursor, encodeTimeCursor } from '@modeltrail/readmodel';
import { CLOCK, type Clock } from './clock';
import { apiKeyView } from './read-model/access.reader';
import { AccessViews } from './read-model/access.views';

type Req<K extends keyof typeof accessRpc> = z.output<(typeof accessRpc)[K]['request']>;
type Reply<K extends keyof typeof accessRpc> = RpcReply<(typeof accessRpc)[K]>;

/** Request/reply queries answered from the access read model (AuthenticateApiKey also from a new key's stream). */
@Controller()
export class AccessQueries {
  constructor(
    private readonly views: AccessViews,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** On the gateway's hot path: one indexed query (and the last use, at most once a minute). */
  @RpcPattern(accessRpc.authenticateApiKey)
  authenticateApiKey(@Payload() req: Req<'authenticateApiKey'>): Promise<Reply<'authenticateApiKey'>> {
    return this.views.authenticate(req.keyId, req.secretHash, new Date(this.clock.now()));
  }

  /** On the gateway's hot path: one indexed query. */
  @RpcPattern(accessRpc.principalAccess)
  principalAccess(@Payload() req: Req<'principalAccess'>): Promise<Reply<'principalAccess'>> {
    return this.views.principalAccess(req.principal);
  }

  @RpcPattern(accessRpc.getApiKeys)
  async getApiKeys(@Payload() req: Req<'getApiKeys'>): Promise<Reply<'getApiKeys'>> {
    return { items: await this.views.keys(req.keyIds, new Date(this.clock.now())) };
  }

  @RpcPattern(accessRpc.listApiKeys)
  async listApiKeys(@Payload() req: Req<'listApiKeys'>): Promise<Reply<'listApiKeys'>> {
    const now = new Date(this.clock.now());
    const rows = await this.views.reader.keyPage({
      principal: req.principal,
      createdBy: req.createdBy,
      includeRevoked: req.includeRevoked,
      after: req.after ? decodeTimeCursor(req.after) : null,
      limit: req.first + 1,
    });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page.map((row) => apiKeyView(row, now)), pageInfo: { endCursor: last ? encodeTimeCursor(last.createdAt, last.keyId) : null, hasNextPage: rows.length > req.first } };
  }

  @RpcPattern(accessRpc.listRoleGrants)
  async listRoleGrants(@Payload() req: Req<'listRoleGrants'>): Promise<Reply<'listRoleGrants'>> {
    const asOf = req.asOfTime !== undefined || req.asOfPosition !== undefined ? { time: req.asOfTime ? new Date(req.asOfTime) : undefined, position: req.asOfPosition } : undefined;
    const grants = await this.views.reader.grantPage({ scope: req.scope, principal: req.principal, asOf, after: req.after ? decodeGrantCursor(req.after) : null, limit: req.first + 1 });
    const page = grants.slice(0, req.first);
    const last = page[page.length - 1];
    return { items: page, pageInfo: { endCursor: last ? encodeGrantCursor(last.scope, last.principal) : null, hasNextPage: grants.length > req.first } };
  }
}

/** The cursor of a page of grants (ordered by scope, then principal): opaque to callers. */
export function encodeGrantCursor(scope: string, principal: string): string {
  return Buffer.from(JSON.stringify(['g', scope, principal]), 'utf8').toString('base64url');
}

/** The scope and principal an `encodeGrantCursor` cursor holds; anything else is a BAD_USER_INPUT naming `after`. */
export function decodeGrantCursor(cursor: string): { scope: string; principal: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && value[0] === 'g' && typeof value[1] === 'string' && typeof value[2] === 'string') return { scope: value[1], principal: value[2] };
  } catch {
    // not JSON: refused below
  }
  throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
}
