import { ConflictError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type WebhookCommand, webhookDecider, type WebhookEvent } from './webhook.decider';

const webhookId = '1f0e7c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const secretId = '2a2a2a2a-1111-4222-8333-444444444444';
const nextSecretId = '3b3b3b3b-1111-4222-8333-444444444444';
const at = '2026-12-02T10:00:00.000Z';
const later = '2026-12-02T11:00:00.000Z';

const create: WebhookCommand = {
  type: 'CreateWebhook',
  webhookId,
  projectId,
  url: 'https://hooks.example.com/modeltrail',
  eventTypes: ['registry.PromotionApproved.v1', 'registry.AliasAssigned.v1'],
  description: 'promotions to the release channel',
  secretId,
  at,
};
const created: WebhookEvent = {
  type: 'webhooks.WebhookCreated.v1',
  data: {
    webhookId,
    projectId,
    url: 'https://hooks.example.com/modeltrail',
    eventTypes: ['registry.AliasAssigned.v1', 'registry.PromotionApproved.v1'],
    description: 'promotions to the release channel',
    secretId,
    secretVersion: 1,
    createdAt: at,
  },
};
const paused: WebhookEvent = { type: 'webhooks.WebhookPaused.v1', data: { webhookId, projectId, pausedAt: later } };
const deleted: WebhookEvent = { type: 'webhooks.WebhookDeleted.v1', data: { webhookId, projectId, deletedAt: later } };

const spec = deciderSpec(webhookDecider);

describe('Webhook decider', () => {
  describe('CreateWebhook', () => {
    it('creates the webhook with its event types sorted and the first secret version', () => {
      spec.given([]).when(create).then([created]);
    });

    it('takes * alone for every event type', () => {
      const events = webhookDecider.decide({ ...create, eventTypes: ['*'] }, webhookDecider.initialState());
      expect(events).toEqual([{ ...created, data: { ...created.data, eventTypes: ['*'] } }]);
    });

    it('refuses an event type that is not in the catalog, naming it', () => {
      spec.given([]).when({ ...create, eventTypes: ['registry.PromotionApproved.v1', 'registry.PromotionTeleported.v1'] }).thenThrows(ValidationError, /unknown event type registry\.PromotionTeleported\.v1/);
    });

    it('refuses * together with other types, and no types at all', () => {
      spec.given([]).when({ ...create, eventTypes: ['*', 'registry.AliasAssigned.v1'] }).thenThrows(ValidationError, /\* already means every event type/);
      spec.given([]).when({ ...create, eventTypes: [] }).thenThrows(ValidationError, /at least one/);
    });

    it('refuses a URL that is not http(s)', () => {
      spec.given([]).when({ ...create, url: 'ftp://hooks.example.com/x' }).thenThrows(ValidationError, /http:\/\/ or https:\/\//);
      spec.given([]).when({ ...create, url: 'not a url' }).thenThrows(ValidationError, /absolute http/);
    });

    it('does nothing for the same creation again (a retried command), with another secret id', () => {
      spec.given([created]).when({ ...create, secretId: nextSecretId, at: later }).thenNothingHappens();
    });

    it('is a conflict with other settings under the same id', () => {
      spec.given([created]).when({ ...create, url: 'https://elsewhere.example.com/' }).thenThrows(ConflictError, /already exists/);
    });
  });

  describe('UpdateWebhook', () => {
    it('records the new settings, keeping what is not given', () => {
      spec
        .given([created])
        .when({ type: 'UpdateWebhook', webhookId, url: 'https://hooks.example.com/v2', at: later })
        .then([{ type: 'webhooks.WebhookUpdated.v1', data: { webhookId, projectId, url: 'https://hooks.example.com/v2', eventTypes: created.data.eventTypes, description: created.data.description, updatedAt: later } }]);
    });

    it('does nothing when nothing changes', () => {
      spec.given([created]).when({ type: 'UpdateWebhook', webhookId, eventTypes: ['registry.PromotionApproved.v1', 'registry.AliasAssigned.v1'], at: later }).thenNothingHappens();
    });

    it('is NOT_FOUND for a webhook that does not exist or was deleted', () => {
      spec.given([]).when({ type: 'UpdateWebhook', webhookId, description: 'x', at: later }).thenThrows(NotFoundError, /does not exist/);
      spec.given([created, deleted]).when({ type: 'UpdateWebhook', webhookId, description: 'x', at: later }).thenThrows(NotFoundError, /deleted/);
    });
  });

  describe('RotateWebhookSecret', () => {
    it('names the new secret and counts its version', () => {
      spec
        .given([created])
        .when({ type: 'RotateWebhookSecret', webhookId, secretId: nextSecretId, at: later })
        .then([{ type: 'webhooks.WebhookSecretRotated.v1', data: { webhookId, projectId, secretId: nextSecretId, secretVersion: 2, rotatedAt: later } }]);
    });

    it('is NOT_FOUND for a deleted webhook', () => {
      spec.given([created, deleted]).when({ type: 'RotateWebhookSecret', webhookId, secretId: nextSecretId, at: later }).thenThrows(NotFoundError);
    });
  });

  describe('pause, resume, delete', () => {
    it('pauses an active webhook once', () => {
      spec.given([created]).when({ type: 'PauseWebhook', webhookId, at: later }).then([paused]);
      spec.given([created, paused]).when({ type: 'PauseWebhook', webhookId, at: later }).thenNothingHappens();
    });

    it('resumes a paused webhook; an active one stays as it is', () => {
      spec.given([created, paused]).when({ type: 'ResumeWebhook', webhookId, at: later }).then([{ type: 'webhooks.WebhookResumed.v1', data: { webhookId, projectId, resumedAt: later } }]);
      spec.given([created]).when({ type: 'ResumeWebhook', webhookId, at: later }).thenNothingHappens();
    });

    it('deletes once; deleting what does not exist is NOT_FOUND', () => {
      spec.given([created, paused]).when({ type: 'DeleteWebhook', webhookId, at: later }).then([deleted]);
      spec.given([created, deleted]).when({ type: 'DeleteWebhook', webhookId, at: later }).thenNothingHappens();
      spec.given([]).when({ type: 'DeleteWebhook', webhookId, at: later }).thenThrows(NotFoundError);
    });

    it('folds to the state its events describe', () => {
      const state = [created, paused].reduce(webhookDecider.evolve, webhookDecider.initialState());
      expect(state).toMatchObject({ status: 'PAUSED', secretId, secretVersion: 1, projectId });
    });
  });
});
