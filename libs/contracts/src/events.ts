import type { z } from 'zod';
import { accessEvents, accessRpc } from './access';
import { EventCatalog } from './catalog';
import { datasetsEvents, datasetsRpc } from './datasets';
import { experimentsEvents, experimentsRpc } from './experiments';
import { auditRpc, lineageRpc, logRpc } from './lineage';
import { monitoringEvents, monitoringRpc } from './monitoring';
import { registryEvents, registryRpc } from './registry';
import { schedulerEvents, schedulerRpc } from './scheduler';
import { webhooksEvents, webhooksRpc } from './webhooks';

/**
 * Every event type of the platform, by stored type name. Each context adds its map here; the
 * types below make publishers and subscribers generic over these keys, so a typo is a compile error.
 */
export const eventSchemas = {
  ...datasetsEvents,
  ...experimentsEvents,
  ...schedulerEvents,
  ...registryEvents,
  ...monitoringEvents,
  ...accessEvents,
  ...webhooksEvents,
} as const;

export type EventType = keyof typeof eventSchemas;
export type EventMap = { [K in EventType]: z.output<(typeof eventSchemas)[K]> };
/** A typed domain event value: `{ type: 'datasets.DatasetRegistered.v1', data: {...} }`. */
export type TypedEvent<K extends EventType = EventType> = { [T in K]: { type: T; data: EventMap[T] } }[K];

/** The catalog the event store validates against and upcasts with. */
export function platformEventCatalog(): EventCatalog {
  return new EventCatalog(eventSchemas);
}

/** Every request/reply exchange by subject: one typed map from subject to payload type. */
export const rpcDefinitions = {
  ...Object.fromEntries(Object.values(datasetsRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(experimentsRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(schedulerRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(registryRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(monitoringRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(lineageRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(logRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(auditRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(accessRpc).map((d) => [d.subject, d])),
  ...Object.fromEntries(Object.values(webhooksRpc).map((d) => [d.subject, d])),
} as const;

type RpcOf<T> = T[keyof T];
type AllRpc = RpcOf<typeof datasetsRpc> | RpcOf<typeof experimentsRpc> | RpcOf<typeof schedulerRpc> | RpcOf<typeof registryRpc> | RpcOf<typeof monitoringRpc> | RpcOf<typeof lineageRpc> | RpcOf<typeof logRpc> | RpcOf<typeof auditRpc> | RpcOf<typeof accessRpc> | RpcOf<typeof webhooksRpc>;
export type SubjectMap = { [R in AllRpc as R['subject']]: { request: z.input<R['request']>; reply: z.output<R['reply']> } };
export type RpcSubject = keyof SubjectMap;
