import { ALL_EVENT_TYPES, ConflictError, eventSchemas, NotFoundError, type TypedEvent, ValidationError, webhookUrlProblem } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Webhook aggregate: one stream per webhook (`webhook-<webhookId>`). The adapter makes the
 * signing secret and stores it in the service's own table under a fresh `secretId`; the events
 * name that id and the secret's version, never the secret, so the immutable log holds nothing a
 * receiver's forger could use.
 */

export interface WebhookSettings {
  url: string;
  /** Sorted, without duplicates; `*` is every type. */
  eventTypes: string[];
  description: string;
}

export type WebhookCommand =
  | ({ type: 'CreateWebhook'; webhookId: string; projectId: string | null; secretId: string; at: string } & WebhookSettings)
  | ({ type: 'UpdateWebhook'; webhookId: string; at: string } & Partial<WebhookSettings>)
  | { type: 'RotateWebhookSecret'; webhookId: string; secretId: string; at: string }
  | { type: 'PauseWebhook'; webhookId: string; at: string }
  | { type: 'ResumeWebhook'; webhookId: string; at: string }
  | { type: 'DeleteWebhook'; webhookId: string; at: string };

export type WebhookEvent = TypedEvent<
  'webhooks.WebhookCreated.v1' | 'webhooks.WebhookUpdated.v1' | 'webhooks.WebhookSecretRotated.v1' | 'webhooks.WebhookPaused.v1' | 'webhooks.WebhookResumed.v1' | 'webhooks.WebhookDeleted.v1'
>;

export type WebhookState =
  | { status: 'None' }
  | ({ status: 'ACTIVE' | 'PAUSED' | 'DELETED'; webhookId: string; projectId: string | null; secretId: string; secretVersion: number } & WebhookSettings);

export const webhookDecider: Decider<WebhookCommand, WebhookEvent, WebhookState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateWebhook': {
        const settings = checkedSettings(command);
        if (state.status !== 'None') {
          // The same webhook created again (a retried command): its view is the answer.
          const same = state.projectId === command.projectId && state.url === settings.url && sameTypes(state.eventTypes, settings.eventTypes) && state.description === settings.description;
          if (same) return [];
          throw new ConflictError(`webhook ${command.webhookId} already exists with other settings`, { webhookId: command.webhookId });
        }
        return [
          {
            type: 'webhooks.WebhookCreated.v1',
            data: { webhookId: command.webhookId, url: settings.url, eventTypes: settings.eventTypes, projectId: command.projectId, description: settings.description, secretId: command.secretId, secretVersion: 1, createdAt: command.at },
          },
        ];
      }
      case 'UpdateWebhook': {
        const current = existing(state, command.webhookId);
        const next = checkedSettings({ url: command.url ?? current.url, eventTypes: command.eventTypes ?? current.eventTypes, description: command.description ?? current.description });
        if (next.url === current.url && sameTypes(next.eventTypes, current.eventTypes) && next.description === current.description) return [];
        return [{ type: 'webhooks.WebhookUpdated.v1', data: { webhookId: current.webhookId, projectId: current.projectId, ...next, updatedAt: command.at } }];
      }
      case 'RotateWebhookSecret': {
        const current = existing(state, command.webhookId);
        return [{ type: 'webhooks.WebhookSecretRotated.v1', data: { webhookId: current.webhookId, projectId: current.projectId, secretId: command.secretId, secretVersion: current.secretVersion + 1, rotatedAt: command.at } }];
      }
      case 'PauseWebhook': {
        const current = existing(state, command.webhookId);
        if (current.status === 'PAUSED') return [];
        return [{ type: 'webhooks.WebhookPaused.v1', data: { webhookId: current.webhookId, projectId: current.projectId, pausedAt: command.at } }];
      }
      case 'ResumeWebhook': {
        const current = existing(state, command.webhookId);
        if (current.status === 'ACTIVE') return [];
        return [{ type: 'webhooks.WebhookResumed.v1', data: { webhookId: current.webhookId, projectId: current.projectId, resumedAt: command.at } }];
      }
      case 'DeleteWebhook': {
        if (state.status === 'None') throw new NotFoundError(`webhook ${command.webhookId} does not exist`, { webhookId: command.webhookId });
        if (state.status === 'DELETED') return [];
        return [{ type: 'webhooks.WebhookDeleted.v1', data: { webhookId: state.webhookId, projectId: state.projectId, deletedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'webhooks.WebhookCreated.v1': {
        const { webhookId, projectId, url, eventTypes, description, secretId, secretVersion } = event.data;
        return { status: 'ACTIVE', webhookId, projectId, url, eventTypes, description, secretId, secretVersion };
      }
      case 'webhooks.WebhookUpdated.v1':
        return { ...known(state, event), url: event.data.url, eventTypes: event.data.eventTypes, description: event.data.description };
      case 'webhooks.WebhookSecretRotated.v1':
        return { ...known(state, event), secretId: event.data.secretId, secretVersion: event.data.secretVersion };
      case 'webhooks.WebhookPaused.v1':
        return { ...known(state, event), status: 'PAUSED' };
      case 'webhooks.WebhookResumed.v1':
        return { ...known(state, event), status: 'ACTIVE' };
      case 'webhooks.WebhookDeleted.v1':
        return { ...known(state, event), status: 'DELETED' };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/** The event types a webhook may name: every type of the platform's catalog, or `*`. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(eventSchemas));

/** The settings, checked: an http(s) URL, known event types (or `*` alone), sorted and without duplicates. */
export function checkedSettings(settings: WebhookSettings): WebhookSettings {
  const urlProblem = webhookUrlProblem(settings.url);
  if (urlProblem !== null) throw new ValidationError(`url ${urlProblem}`, { issues: [{ field: 'url', message: urlProblem }] });
  const eventTypes = [...new Set(settings.eventTypes.map((t) => t.trim()))].sort();
  if (eventTypes.length === 0) throw new ValidationError('eventTypes must name at least one event type (or *)', { issues: [{ field: 'eventTypes', message: 'must not be empty' }] });
  if (eventTypes.includes(ALL_EVENT_TYPES) && eventTypes.length > 1) {
    throw new ValidationError('eventTypes: * already means every event type; give it alone', { issues: [{ field: 'eventTypes', message: '* must be alone' }] });
  }
  const unknown = eventTypes.filter((t) => t !== ALL_EVENT_TYPES && !KNOWN_EVENT_TYPES.has(t));
  if (unknown.length > 0) {
    throw new ValidationError(`eventTypes: unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (see libs/contracts for the catalog, e.g. registry.AliasAssigned.v1)`, {
      issues: unknown.map((t) => ({ field: 'eventTypes', message: `unknown event type ${t}` })),
    });
  }
  return { url: settings.url, eventTypes, description: settings.description };
}

function sameTypes(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function existing(state: WebhookState, webhookId: string): Exclude<WebhookState, { status: 'None' }> {
  if (state.status === 'None' || state.status === 'DELETED') throw new NotFoundError(`webhook ${webhookId} does not exist${state.status === 'DELETED' ? ' (it was deleted)' : ''}`, { webhookId });
  return state;
}

function known(state: WebhookState, event: WebhookEvent): Exclude<WebhookState, { status: 'None' }> {
  if (state.status === 'None') throw new Error(`${event.type} for webhook ${event.data.webhookId} before it was created`);
  return state;
}
