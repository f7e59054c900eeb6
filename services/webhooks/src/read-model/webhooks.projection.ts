import type { WebhookStatus } from '@modeltrail/contracts';
import type { Projection, RecordedOf, TableProjection, TableSpec } from '@modeltrail/readmodel';

/** One webhook as queries show it (never its secret). */
export interface WebhookRow {
  webhookId: string;
  projectId: string | null;
  url: string;
  eventTypes: string[];
  description: string;
  status: WebhookStatus;
  secretVersion: number;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  revision: number;
}

export const webhooksTable: TableSpec<WebhookRow, 'webhookId'> = {
  name: 'webhooks',
  key: ['webhookId'],
  columns: {
    webhookId: 'uuid',
    projectId: 'uuid',
    url: 'text',
    eventTypes: 'jsonb',
    description: 'text',
    status: 'text',
    secretVersion: 'integer',
    createdBy: 'text',
    createdAt: 'timestamptz',
    updatedAt: 'timestamptz',
    revision: 'integer',
  },
};

const HANDLED = [
  'webhooks.WebhookCreated.v1',
  'webhooks.WebhookUpdated.v1',
  'webhooks.WebhookSecretRotated.v1',
  'webhooks.WebhookPaused.v1',
  'webhooks.WebhookResumed.v1',
  'webhooks.WebhookDeleted.v1',
] as const;

export type WebhookRecordedEvent = RecordedOf<(typeof HANDLED)[number]>;

/** A webhook's row after one of its events (pure). */
export function evolveWebhookRow(row: WebhookRow | undefined, event: WebhookRecordedEvent): WebhookRow {
  if (event.type === 'webhooks.WebhookCreated.v1') {
    if (row) return row; // replayed
    const { webhookId, projectId, url, eventTypes, description, secretVersion, createdAt } = event.data;
    const at = new Date(createdAt);
    return { webhookId, projectId, url, eventTypes, description, status: 'ACTIVE', secretVersion, createdBy: event.metadata.actor, createdAt: at, updatedAt: at, revision: event.revision };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: webhook ${event.data.webhookId} has no row`);
  const next = (changes: Partial<WebhookRow>, at: string): WebhookRow => ({ ...row, ...changes, updatedAt: new Date(at), revision: event.revision });
  switch (event.type) {
    case 'webhooks.WebhookUpdated.v1':
      return next({ url: event.data.url, eventTypes: event.data.eventTypes, description: event.data.description }, event.data.updatedAt);
    case 'webhooks.WebhookSecretRotated.v1':
      return next({ secretVersion: event.data.secretVersion }, event.data.rotatedAt);
    case 'webhooks.WebhookPaused.v1':
      return next({ status: 'PAUSED' }, event.data.pausedAt);
    case 'webhooks.WebhookResumed.v1':
      return next({ status: 'ACTIVE' }, event.data.resumedAt);
    case 'webhooks.WebhookDeleted.v1':
      return next({ status: 'DELETED' }, event.data.deletedAt);
    default: {
      const unknown: never = event;
      throw new Error(`webhooks projection cannot apply ${JSON.stringify(unknown)}`);
    }
  }
}

const webhooks: TableProjection<WebhookRecordedEvent, WebhookRow, 'webhookId'> = {
  table: webhooksTable,
  keyOf: (event) => ({ webhookId: event.data.webhookId }),
  evolve: (row, event) => evolveWebhookRow(row, event),
};

/** Keeps `webhooks` for the service's queries. */
export const webhooksProjection: Projection<WebhookRecordedEvent> = {
  name: 'webhooks.webhooks.v1',
  handles: new Set<string>(HANDLED),
  tables: [webhooks],
};
