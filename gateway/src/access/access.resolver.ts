import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Args, Context, ID, Info, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { accessRpc, agentPrincipal, type ApiKeyKind, formatApiKey, ForbiddenError, NotFoundError, PLATFORM_SCOPE, type ProjectRole, ValidationError } from '@modeltrail/contracts';
import { parseId } from '../common/ids';
import { PageArgs, pageRequest, toPage } from '../common/page';
import type { GatewayContext } from '../context/gateway-context';
import { AsOfInput } from '../lineage/lineage.types';
import { ApiKey, ApiKeyConnection, CreateApiKeyInput, CreatedApiKey, GrantRoleInput, Me, RevokeApiKeyInput, RevokeRoleInput, RoleGrant, RoleGrantConnection, toApiKey, toRoleGrant } from './access.types';
import { Anyone, CheckedInResolver } from './policy';

/** `projectId` or `platform: true`, exactly one, as the access service's scope. */
function scopeOf(input: { projectId?: string | null; platform: boolean }): string {
  if (input.platform === (input.projectId != null)) {
    throw new ValidationError('give exactly one of projectId and platform: true', { issues: [{ field: 'projectId', message: 'give either a project or platform: true' }] });
  }
  return input.platform ? PLATFORM_SCOPE : parseId(input.projectId!, 'projectId');
}

/**
 * Identities and roles (docs/architecture.md: Gateway): who the caller is, API keys (made here, shown once, stored as
 * a hash by the access service), and roles per project, which are events of the access context.
 */
@Resolver()
export class AccessResolver {
  @Anyone('the caller asks about themselves')
  @Query(() => Me, { description: 'Who you are, how you authenticated, and your roles.' })
  me(@Context() ctx: GatewayContext): Me {
    const { identity } = ctx.access;
    return {
      principal: identity.principal,
      authenticatedBy: identity.method,
      apiKeyId: identity.keyId,
      expiresAt: identity.expiresAt?.toISOString() ?? null,
      platformAdmin: ctx.access.platformAdmin,
      projects: [...ctx.access.projectRoles].map(([projectId, role]) => ({ projectId, role })),
    };
  }

  @CheckedInResolver('your own keys (those acting as you); a platform admin may list anyone\'s')
  @Query(() => ApiKeyConnection, { description: 'API keys, newest first: yours, or (platform admins) those of `principal` or everyone.' })
  async apiKeys(
    @Args('principal', { type: () => String, nullable: true }) principal: string | null,
    @Args('includeRevoked', { defaultValue: false }) includeRevoked: boolean,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<ApiKeyConnection> {
    principal ??= null; // an absent argument comes as undefined
    if (!ctx.access.platformAdmin && principal !== null && principal !== ctx.user) throw new ForbiddenError("listing another principal's keys needs a platform admin");
    const owner = ctx.access.platformAdmin ? principal : ctx.user;
    const reply = await ctx.rpc.query(accessRpc.listApiKeys, { ...(owner !== null ? { principal: owner } : {}), includeRevoked, ...pageRequest(page) });
    return toPage(reply, toApiKey);
  }

  @CheckedInResolver('a project\'s grants need VIEWER in it; platform grants and grants of others across projects need a platform admin; your own grants anyone')
  @Query(() => RoleGrantConnection, { description: 'Role grants in force (or, with asOf, in force then): of a project, of the platform, or of a principal.' })
  async roleGrants(
    @Args('projectId', { type: () => ID, nullable: true }) projectId: string | null,
    @Args('platform', { defaultValue: false }) platform: boolean,
    @Args('principal', { type: () => String, nullable: true }) principal: string | null,
    @Args('asOf', { type: () => AsOfInput, nullable: true }) asOf: AsOfInput | null,
    @Args() page: PageArgs,
    @Context() ctx: GatewayContext,
  ): Promise<RoleGrantConnection> {
    projectId ??= null; // absent arguments come as undefined
    principal ??= null;
    let scope: string | undefined;
    if (projectId !== null || platform) scope = scopeOf({ projectId, platform });
    if (scope === PLATFORM_SCOPE) ctx.access.requirePlatformAdmin('roleGrants of the platform');
    else if (scope !== undefined) ctx.access.require('VIEWER', scope, 'roleGrants of a project');
    else if (principal !== ctx.user) ctx.access.requirePlatformAdmin(principal === null ? 'roleGrants of every project' : "roleGrants of another principal");
    const reply = await ctx.rpc.query(accessRpc.listRoleGrants, {
      ...(scope !== undefined ? { scope } : {}),
      ...(principal !== null ? { principal } : {}),
      ...(asOf?.time != null ? { asOfTime: asOf.time } : {}),
      ...(asOf?.position != null ? { asOfPosition: String(asOf.position) } : {}),
      ...pageRequest(page),
    });
    return toPage(reply, toRoleGrant);
  }

  @CheckedInResolver('PERSONAL keys: anyone, acting as themselves; SERVICE_ACCOUNT and AGENT keys: platform admins')
  @Mutation(() => CreatedApiKey, { description: 'Makes an API key. The key is in this answer only: it is stored as a SHA-256 hash and cannot be shown again.' })
  async createApiKey(@Args('input') input: CreateApiKeyInput, @Context() ctx: GatewayContext): Promise<CreatedApiKey> {
    const kind = input.kind as ApiKeyKind;
    let principal: string;
    let agentId: string | null = null;
    if (kind === 'PERSONAL') {
      if (input.serviceAccount != null || input.agentId != null) throw new ValidationError('a PERSONAL key acts as you: give neither serviceAccount nor agentId', { issues: [{ field: 'kind', message: 'PERSONAL takes no serviceAccount or agentId' }] });
      if (ctx.access.identity.method === 'API_KEY' && /^service:/.test(ctx.user)) throw new ForbiddenError('a service account cannot make keys');
      principal = ctx.user;
    } else {
      ctx.access.requirePlatformAdmin(`createApiKey of kind ${kind}`);
      if (kind === 'SERVICE_ACCOUNT') {
        if (!input.serviceAccount) throw new ValidationError('a SERVICE_ACCOUNT key needs serviceAccount', { issues: [{ field: 'serviceAccount', message: 'required for SERVICE_ACCOUNT' }] });
        principal = `service:${input.serviceAccount}`;
      } else {
        if (!input.agentId) throw new ValidationError('an AGENT key needs agentId', { issues: [{ field: 'agentId', message: 'required for AGENT' }] });
        agentId = parseId(input.agentId, 'agentId');
        principal = agentPrincipal(agentId);
      }
    }
    // The key is made here and never leaves this answer: the access service gets its hash only.
    // A retried request makes another key (the first one, if it was made, can be revoked).
    const keyId = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const view = await ctx.rpc.command(
      accessRpc.createApiKey,
      { keyId, name: input.name, secretHash: createHash('sha256').update(secret, 'utf8').digest('hex'), kind, principal, agentId, expiresAt: input.expiresAt ?? null },
      randomUUID(),
    );
    return { key: formatApiKey(keyId, secret), apiKey: toApiKey(view) };
  }

  @CheckedInResolver('the key\'s own principal or its creator; a platform admin any key')
  @Mutation(() => ApiKey, { description: 'Revokes an API key: it stops authenticating at once.' })
  async revokeApiKey(@Args('input') input: RevokeApiKeyInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<ApiKey> {
    const keyId = parseId(input.keyId, 'keyId');
    const [key] = (await ctx.rpc.query(accessRpc.getApiKeys, { keyIds: [keyId] })).items;
    if (!key) throw new NotFoundError(`no API key ${keyId}`, { keyId });
    if (!ctx.access.platformAdmin && key.principal !== ctx.user && key.createdBy !== ctx.user) throw new ForbiddenError('revoking a key of someone else needs a platform admin');
    return toApiKey(await ctx.rpc.command(accessRpc.revokeApiKey, { keyId }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver('ADMIN in the project; platform grants need a platform admin')
  @Mutation(() => RoleGrant, { description: 'Gives a principal a role in a project (replacing the role it had there), or makes it a platform admin.' })
  async grantRole(@Args('input') input: GrantRoleInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<RoleGrant> {
    const scope = await this.authorizeScope(input, ctx, 'grantRole');
    if (scope === PLATFORM_SCOPE && input.role !== 'ADMIN') throw new ValidationError('only ADMIN is granted on the platform (a platform admin)', { issues: [{ field: 'role', message: 'must be ADMIN with platform: true' }] });
    if (/^agent:/.test(input.principal)) throw new ValidationError('an agent acts on its own assignments only; it takes no role', { issues: [{ field: 'principal', message: 'must not be an agent' }] });
    return toRoleGrant(await ctx.rpc.command(accessRpc.grantRole, { scope, principal: input.principal, role: input.role as ProjectRole }, ctx.commandIdFor(info)));
  }

  @CheckedInResolver('ADMIN in the project; platform grants need a platform admin')
  @Mutation(() => RoleGrant, { description: "Takes a principal's role in a project (or platform admin) away. The last ADMIN of a project stays." })
  async revokeRole(@Args('input') input: RevokeRoleInput, @Context() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<RoleGrant> {
    const scope = await this.authorizeScope(input, ctx, 'revokeRole');
    return toRoleGrant(await ctx.rpc.command(accessRpc.revokeRole, { scope, principal: input.principal }, ctx.commandIdFor(info)));
  }

  private async authorizeScope(input: { projectId?: string | null; platform: boolean }, ctx: GatewayContext, what: string): Promise<string> {
    const scope = scopeOf(input);
    if (scope === PLATFORM_SCOPE) {
      ctx.access.requirePlatformAdmin(`${what} on the platform`);
    } else {
      ctx.access.require('ADMIN', scope, `${what} in a project`);
      await ctx.loaders.projects.load(scope); // NOT_FOUND for a project that does not exist
    }
    return scope;
  }
}
