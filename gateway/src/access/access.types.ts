import { Field, Float, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { API_KEY_KINDS, API_KEY_STATUSES, type ApiKeyView, PLATFORM_SCOPE, PROJECT_ROLES, type RoleGrantView } from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection } from '../common/page';
import { DateTimeScalar } from '../common/scalars';

export const ProjectRoleEnum = enumOf(PROJECT_ROLES);
registerEnumType(ProjectRoleEnum, { name: 'ProjectRole', description: 'Roles in a project, weakest first; each may do all the ones before it may: VIEWER reads, CONTRIBUTOR changes and runs jobs, APPROVER approves promotions and retraining, ADMIN grants roles.' });
export const ApiKeyKindEnum = enumOf(API_KEY_KINDS);
registerEnumType(ApiKeyKindEnum, { name: 'ApiKeyKind', description: 'PERSONAL acts as its creator; SERVICE_ACCOUNT as service:<name>; AGENT as agent:<agentId>, only for that agent over NATS.' });
export const ApiKeyStatusEnum = enumOf(API_KEY_STATUSES);
registerEnumType(ApiKeyStatusEnum, { name: 'ApiKeyStatus' });
export const AuthenticationMethodEnum = enumOf(['DEVELOPMENT_TOKEN', 'STATIC_TOKEN', 'API_KEY', 'OIDC'] as const);
registerEnumType(AuthenticationMethodEnum, { name: 'AuthenticationMethod' });

@ObjectType({ description: 'An API key as listed: never the key itself, which is shown once when it is created.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'mtk_ and the first 8 hex digits of the id: enough to recognise a key.' })
  prefix!: string;

  @Field(() => ApiKeyKindEnum)
  kind!: string;

  @Field({ description: 'Who the key acts as.' })
  principal!: string;

  @Field(() => ID, { nullable: true })
  agentId!: string | null;

  @Field()
  createdBy!: string;

  @Field(() => DateTimeScalar)
  createdAt!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: string | null;

  @Field(() => String, { nullable: true })
  revokedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it last authenticated a request (to the minute).' })
  lastUsedAt!: string | null;

  @Field(() => ApiKeyStatusEnum)
  status!: string;
}

@ObjectType()
export class ApiKeyConnection extends Connection(ApiKey) {}

@ObjectType({ description: 'A new key: `key` is shown this once and never stored; keep it secret.' })
export class CreatedApiKey {
  @Field({ description: 'Send it as "Authorization: Bearer <key>".' })
  key!: string;

  @Field(() => ApiKey)
  apiKey!: ApiKey;
}

@ObjectType({ description: 'A role a principal holds (or held) in a project, or platform admin.' })
export class RoleGrant {
  @Field(() => ID, { nullable: true, description: 'The project; null for a platform grant.' })
  projectId!: string | null;

  @Field({ description: 'Whether this is a platform grant (platform admin).' })
  platform!: boolean;

  @Field()
  principal!: string;

  @Field(() => ProjectRoleEnum)
  role!: string;

  @Field()
  grantedBy!: string;

  @Field(() => DateTimeScalar)
  grantedAt!: string;

  @Field(() => Float, { description: 'Store position of the grant.' })
  grantedAtPosition!: number;

  @Field(() => String, { nullable: true })
  revokedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: string | null;

  @Field(() => Float, { nullable: true })
  revokedAtPosition!: number | null;
}

@ObjectType()
export class RoleGrantConnection extends Connection(RoleGrant) {}

@ObjectType()
export class ProjectAccess {
  @Field(() => ID)
  projectId!: string;

  @Field(() => ProjectRoleEnum)
  role!: string;
}

@ObjectType({ description: 'Who the caller is and what they may do.' })
export class Me {
  @Field()
  principal!: string;

  @Field(() => AuthenticationMethodEnum)
  authenticatedBy!: string;

  @Field(() => ID, { nullable: true, description: 'The API key this request came with.' })
  apiKeyId!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the credential stops being valid.' })
  expiresAt!: string | null;

  @Field()
  platformAdmin!: boolean;

  @Field(() => [ProjectAccess], { description: 'Roles in projects (a platform admin may act in every project besides).' })
  projects!: ProjectAccess[];
}

@InputType()
export class CreateApiKeyInput {
  @Field({ description: 'What the key is for, 1 to 128 characters.' })
  name!: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it stops working (in the future); none: until revoked.' })
  expiresAt?: string | null;

  @Field(() => ApiKeyKindEnum, { defaultValue: 'PERSONAL' })
  kind!: string;

  @Field(() => String, { nullable: true, description: 'SERVICE_ACCOUNT keys: the account name (lower-case letters, digits, . _ -); the key acts as service:<name>.' })
  serviceAccount?: string | null;

  @Field(() => ID, { nullable: true, description: 'AGENT keys: the agent it authenticates.' })
  agentId?: string | null;
}

@InputType()
export class RevokeApiKeyInput {
  @Field(() => ID)
  keyId!: string;
}

@InputType({ description: 'A project (projectId) or the platform (platform: true), exactly one.' })
export class GrantRoleInput {
  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field({ defaultValue: false, description: 'Grant platform admin (role must be ADMIN).' })
  platform!: boolean;

  @Field({ description: 'The user (as they authenticate: e-mail, OIDC subject) or service:<name>.' })
  principal!: string;

  @Field(() => ProjectRoleEnum)
  role!: string;
}

@InputType({ description: 'A project (projectId) or the platform (platform: true), exactly one.' })
export class RevokeRoleInput {
  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field({ defaultValue: false })
  platform!: boolean;

  @Field()
  principal!: string;
}

export function toApiKey(view: ApiKeyView): ApiKey {
  const { keyId, revision: _revision, ...rest } = view;
  return { id: keyId, ...rest };
}

export function toRoleGrant(view: RoleGrantView): RoleGrant {
  return {
    projectId: view.scope === PLATFORM_SCOPE ? null : view.scope,
    platform: view.scope === PLATFORM_SCOPE,
    principal: view.principal,
    role: view.role,
    grantedBy: view.grantedBy,
    grantedAt: view.grantedAt,
    grantedAtPosition: Number(view.grantedAtPosition),
    revokedBy: view.revokedBy,
    revokedAt: view.revokedAt,
    revokedAtPosition: view.revokedAtPosition === null ? null : Number(view.revokedAtPosition),
  };
}
