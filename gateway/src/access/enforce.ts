import {
  defaultFieldResolver,
  getNamedType,
  type GraphQLField,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  GraphQLSchema,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';
import { ForbiddenError, UnauthenticatedError } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { ACCESS_EXTENSION, type AccessPolicy, valuesAt } from './policy';
import { projectOf } from './project-of';

type Guard = (value: Record<string, unknown>, ctx: GatewayContext) => Promise<string | null> | string | null;
const own = (value: Record<string, unknown>) => (value.projectId as string | null | undefined) ?? null;

/**
 * The object types that belong to a project, and how to tell which. Every field anywhere in the
 * schema that returns one of them (alone, in a list, or as a connection's nodes) is filtered on
 * the way out: lists keep what the caller may see, a single one of another project is FORBIDDEN.
 */
export const GUARDED_TYPES: Readonly<Record<string, Guard>> = {
  Project: (v) => v.id as string,
  Experiment: own,
  Run: own,
  Dataset: own,
  DatasetVersion: (v, ctx) => projectOf('dataset', v.datasetId as string, ctx),
  Job: own,
  QueueEntry: own,
  Sweep: own,
  Model: own,
  ModelVersion: own,
  PromotionRequest: (v, ctx) => projectOf('model', v.modelId as string, ctx),
  Deployment: own,
  Monitor: own,
  Alert: (v, ctx) => projectOf('deployment', v.deploymentId as string, ctx),
  RetrainRequest: (v, ctx) => projectOf('model', v.modelId as string, ctx),
  AlertEvent: (v, ctx) => projectOf('deployment', v.deploymentId as string, ctx),
  JobStatusChange: (v, ctx) => projectOf('job', v.jobId as string, ctx),
  RoleGrant: own,
};

/**
 * Types shown redacted rather than left out, so that a graph keeps its true shape: a lineage node
 * of a project the caller cannot see keeps its id and kind, nothing else.
 */
export const REDACTED_TYPES: Readonly<Record<string, { guard: Guard; redact: (value: Record<string, unknown>, ctx: GatewayContext) => Record<string, unknown> }>> = {
  LineageNode: {
    guard: own,
    redact: (node, ctx) => ({
      ...node,
      id: ctx.access.placeholderOf(node.id as string),
      name: null,
      projectId: null,
      attributes: {},
      createdBy: 'redacted',
      endReason: null,
      redacted: true,
    }),
  },
};

/** What a subscription yields once its credential has expired: its resolver turns it into UNAUTHENTICATED, then the stream ends. */
const EXPIRED = Symbol('credential expired');

/**
 * Applies access control to a built schema: every root field's policy is checked before its
 * resolver runs (a root field without one stops the gateway from starting), every field that
 * returns project-owned objects is filtered, and subscriptions end when their credential expires.
 */
export function enforceAccess(schema: GraphQLSchema): GraphQLSchema {
  const subscriptionName = schema.getSubscriptionType()?.name;
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name));
  const missing: string[] = [];
  const fieldsToWrap: Array<{ field: GraphQLField<unknown, GatewayContext>; config: GraphQLFieldConfig<unknown, GatewayContext> }> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const [name, field] of Object.entries(type.getFields()) as Array<[string, GraphQLField<unknown, GatewayContext>]>) {
      let next: GraphQLFieldConfig<unknown, GatewayContext> = { type: field.type, resolve: field.resolve, subscribe: field.subscribe };
      next = guardOutput(next, type.name === subscriptionName);
      if (roots.has(type.name)) {
        const policy = field.extensions?.[ACCESS_EXTENSION] as AccessPolicy | undefined;
        if (!policy) missing.push(`${type.name}.${name}`);
        else next = withPolicy(next, policy, name, type.name === subscriptionName);
      }
      fieldsToWrap.push({ field, config: next });
    }
  }
  if (missing.length) throw new Error(`root fields without an access policy (add @Anyone, @Needs, @NeedsInProject, @PlatformAdmin or @CheckedInResolver): ${missing.join(', ')}`);
  // Resolvers are set in place (as graphql-tools' addResolversToSchema does): the types stay the same objects.
  for (const { field, config } of fieldsToWrap) {
    field.resolve = config.resolve;
    field.subscribe = config.subscribe;
  }
  return schema;
}

/** The access policies of the root fields of a schema, by `Type.field`. */
export function accessPolicies(schema: GraphQLSchema): Map<string, AccessPolicy | undefined> {
  const out = new Map<string, AccessPolicy | undefined>();
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const [name, field] of Object.entries(root.getFields())) out.set(`${root.name}.${name}`, field.extensions?.[ACCESS_EXTENSION] as AccessPolicy | undefined);
  }
  return out;
}

/** Checks a policy for one call; throws FORBIDDEN (or NOT_FOUND for an entity nobody has). */
export async function authorize(policy: AccessPolicy, args: unknown, ctx: GatewayContext, field: string): Promise<void> {
  const access = ctx.access;
  // A platform admin may do everything: no project to look up (and no service to ask).
  if (access.platformAdmin) return;
  switch (policy.kind) {
    case 'anyone':
    case 'resolver':
      return;
    case 'platformAdmin':
      access.requirePlatformAdmin(field);
      return;
    case 'inProject': {
      const ids = valuesAt(args, policy.arg);
      if (ids.length === 0) {
        if (policy.role !== 'VIEWER') access.require(policy.role, null, field);
        return;
      }
      for (const id of ids) access.require(policy.role, id.toLowerCase(), field);
      return;
    }
    case 'role': {
      let checked = 0;
      for (const [kind, path] of policy.of) {
        for (const id of valuesAt(args, path)) {
          checked += 1;
          access.require(policy.role, await projectOf(kind, id, ctx), `${field} on ${describeKind(kind)} ${id}`);
        }
      }
      if (checked === 0) access.require(policy.role, null, field);
      for (const [readKind, readPath] of policy.reads) {
        for (const id of valuesAt(args, readPath)) access.require('VIEWER', await projectOf(readKind, id, ctx), `${field} reading ${describeKind(readKind)} ${id}`);
      }
      return;
    }
    default: {
      const unknownPolicy: never = policy;
      throw new Error(`unknown access policy ${JSON.stringify(unknownPolicy)}`);
    }
  }
}

function describeKind(kind: string): string {
  return kind.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

function withPolicy(field: GraphQLFieldConfig<unknown, GatewayContext>, policy: AccessPolicy, name: string, subscription: boolean): GraphQLFieldConfig<unknown, GatewayContext> {
  if (!subscription) {
    const resolve = field.resolve ?? defaultFieldResolver;
    return {
      ...field,
      resolve: async (source, args, ctx, info) => {
        await authorize(policy, args, ctx, name);
        return resolve(source, args, ctx, info);
      },
    };
  }
  const subscribe = field.subscribe!;
  const resolve = field.resolve ?? ((payload: unknown) => payload);
  // Events of types that belong to a project are filtered one by one (alerts of every deployment, job updates).
  const itemType = getNamedType(field.type).name;
  const payloadGuard: Guard | undefined = Object.hasOwn(GUARDED_TYPES, itemType) ? GUARDED_TYPES[itemType] : undefined;
  return {
    ...field,
    subscribe: async (source, args, ctx, info) => {
      await authorize(policy, args, ctx, name);
      const iterator = (await subscribe(source, args, ctx, info)) as AsyncIterator<unknown>;
      const keep = payloadGuard && !ctx.access.platformAdmin ? async (value: unknown) => ctx.access.canSee(await payloadGuard(value as Record<string, unknown>, ctx)) : undefined;
      return guardedIterator(iterator, ctx.access.identity.expiresAt, keep);
    },
    resolve: (payload, args, ctx, info) => {
      if (payload === EXPIRED) throw new UnauthenticatedError('the credential of this subscription has expired: subscribe again with a valid one');
      return resolve(payload, args, ctx, info);
    },
  };
}

/**
 * A subscription's events, less those the caller may not see, ending at the credential's
 * expiry with one last EXPIRED item (which its resolver reports as UNAUTHENTICATED).
 */
export function guardedIterator<T>(source: AsyncIterator<T>, expiresAt: Date | null, keep?: (value: T) => Promise<boolean>): AsyncIterableIterator<T | typeof EXPIRED> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  let finished = false;
  const expiry = new Promise<typeof EXPIRED>((resolve) => {
    if (expiresAt === null) return;
    // setTimeout holds at most 2^31-1 ms (24.8 days); a longer-lived credential outlasts any connection worth guarding here.
    timer = setTimeout(() => resolve(EXPIRED), Math.min(Math.max(0, expiresAt.getTime() - Date.now()), 2_147_483_647));
  });
  const stop = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    if (!finished) {
      finished = true;
      await source.return?.();
    }
  };
  const iterator: AsyncIterableIterator<T | typeof EXPIRED> = {
    async next(): Promise<IteratorResult<T | typeof EXPIRED>> {
      if (expired || finished) {
        await stop();
        return { done: true, value: undefined };
      }
      for (;;) {
        const result = await Promise.race([source.next(), expiry]);
        if (result === EXPIRED) {
          expired = true;
          return { done: false, value: EXPIRED };
        }
        if (result.done) {
          if (timer) clearTimeout(timer);
          finished = true;
          return result;
        }
        if (!keep || (await keep(result.value))) return result;
      }
    },
    async return(): Promise<IteratorResult<T | typeof EXPIRED>> {
      await stop();
      return { done: true, value: undefined };
    },
    async throw(error: unknown): Promise<IteratorResult<T | typeof EXPIRED>> {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Wraps a field whose type holds project-owned objects so that it returns only what the caller may see. */
function guardOutput(field: GraphQLFieldConfig<unknown, GatewayContext>, subscriptionRoot: boolean): GraphQLFieldConfig<unknown, GatewayContext> {
  if (subscriptionRoot) return field; // filtered on the event stream instead (withPolicy)
  const filter = outputFilter(field.type);
  if (!filter) return field;
  const resolve: GraphQLFieldResolver<unknown, GatewayContext> = field.resolve ?? defaultFieldResolver;
  return {
    ...field,
    resolve: async (source, args, ctx, info) => {
      const value = await resolve(source, args, ctx, info);
      if (ctx?.access === undefined || ctx.access.platformAdmin) return value;
      return filter(value, ctx);
    },
  };
}

type OutputFilter = (value: unknown, ctx: GatewayContext) => Promise<unknown>;

function outputFilter(type: GraphQLOutputType): OutputFilter | null {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const item = getNamedType(inner).name;
    const guard = GUARDED_TYPES[item];
    const redacted = REDACTED_TYPES[item];
    if (guard) return async (value, ctx) => (Array.isArray(value) ? keepVisible(value as Array<Record<string, unknown>>, guard, ctx) : value);
    if (redacted) return async (value, ctx) => (Array.isArray(value) ? Promise.all((value as Array<Record<string, unknown>>).map((v) => redactIfHidden(v, redacted, ctx))) : value);
    return null;
  }
  const named = getNamedType(inner);
  const guard = GUARDED_TYPES[named.name];
  if (guard) {
    return async (value, ctx) => {
      if (value === null || value === undefined) return value;
      if (!ctx.access.canSee(await guard(value as Record<string, unknown>, ctx))) throw new ForbiddenError(`this ${named.name} belongs to a project you have no role in`, { requiredRole: 'VIEWER' });
      return value;
    };
  }
  const redacted = REDACTED_TYPES[named.name];
  if (redacted) return async (value, ctx) => (value === null || value === undefined ? value : redactIfHidden(value as Record<string, unknown>, redacted, ctx));
  // A connection: `{ nodes: [T], pageInfo }`.
  if (isObjectType(named) && named.name.endsWith('Connection')) {
    const nodes = named.getFields().nodes;
    const nodeGuard = nodes ? GUARDED_TYPES[getNamedType(nodes.type).name] : undefined;
    if (nodeGuard) {
      return async (value, ctx) => {
        const page = value as { nodes?: Array<Record<string, unknown>> } | null;
        if (!page || !Array.isArray(page.nodes)) return value;
        return { ...page, nodes: await keepVisible(page.nodes, nodeGuard, ctx) };
      };
    }
  }
  return null;
}

async function keepVisible(items: Array<Record<string, unknown>>, guard: Guard, ctx: GatewayContext): Promise<Array<Record<string, unknown>>> {
  const visible = await Promise.all(items.map(async (item) => ctx.access.canSee(await guard(item, ctx))));
  return items.filter((_, i) => visible[i]);
}

async function redactIfHidden(value: Record<string, unknown>, type: (typeof REDACTED_TYPES)[string], ctx: GatewayContext): Promise<Record<string, unknown>> {
  return ctx.access.canSee(await type.guard(value, ctx)) ? value : type.redact(value, ctx);
}
