import { type ApiKeyKind, ConflictError, NotFoundError, type TypedEvent, ValidationError } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The ApiKey aggregate: one stream per key (`apikey-<keyId>`). The gateway makes the key's id
 * and secret and sends only SHA-256(secret), so the events hold the hash, never the key.
 */

export interface ApiKeyFacts {
  keyId: string;
  name: string;
  prefix: string;
  secretHash: string;
  kind: ApiKeyKind;
  principal: string;
  agentId: string | null;
  /** ISO-8601 (UTC, milliseconds) or null: never expires. */
  expiresAt: string | null;
}

export type ApiKeyCommand = ({ type: 'CreateApiKey' } & ApiKeyFacts & { at: string }) | { type: 'RevokeApiKey'; keyId: string; at: string };

export type ApiKeyEvent = TypedEvent<'access.ApiKeyCreated.v1' | 'access.ApiKeyRevoked.v1'>;

export type ApiKeyState =
  | { status: 'None' }
  | ({ status: 'Active'; createdAt: string } & ApiKeyFacts)
  | ({ status: 'Revoked'; createdAt: string; revokedAt: string } & ApiKeyFacts);

export const apiKeyStream = (keyId: string) => `apikey-${keyId}`;

/** The fields a repeated create must carry unchanged to be the same key (not the time it was sent). */
const SAME_KEY_FIELDS = ['name', 'prefix', 'secretHash', 'kind', 'principal', 'agentId', 'expiresAt'] as const;
type SameKeyField = (typeof SAME_KEY_FIELDS)[number];

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateApiKey': {
        if (state.status !== 'None') {
          // The same key created again (a retried command): nothing more to do, its view is the answer.
          const differing = SAME_KEY_FIELDS.filter((field) => !sameField(field, state[field], command[field]));
          if (differing.length === 0) return [];
          throw new ConflictError(`API key ${command.keyId} already exists with another ${differing.join(', ')}`, { keyId: command.keyId, fields: [...differing] });
        }
        if (command.expiresAt !== null && Date.parse(command.expiresAt) <= Date.parse(command.at)) {
          throw new ValidationError(`expiresAt must be in the future (it is ${command.expiresAt}, now is ${command.at})`, { field: 'expiresAt' });
        }
        const { type: _type, at, ...facts } = command;
        return [{ type: 'access.ApiKeyCreated.v1', data: { ...facts, createdAt: at } }];
      }
      case 'RevokeApiKey': {
        if (state.status === 'None') throw new NotFoundError(`API key ${command.keyId} does not exist`, { keyId: command.keyId });
        if (state.status === 'Revoked') return [];
        return [{ type: 'access.ApiKeyRevoked.v1', data: { keyId: command.keyId, revokedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'access.ApiKeyCreated.v1': {
        const { createdAt, ...facts } = event.data;
        return { status: 'Active', ...facts, createdAt };
      }
      case 'access.ApiKeyRevoked.v1':
        if (state.status === 'None') throw new Error(`API key ${event.data.keyId} is revoked before it was created`);
        return { ...state, status: 'Revoked', revokedAt: event.data.revokedAt };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/** Equal values; `expiresAt` compares the instants (the same time may be written with another offset). */
function sameField(field: SameKeyField, stored: string | null, requested: string | null): boolean {
  if (stored === requested) return true;
  if (field !== 'expiresAt' || stored === null || requested === null) return false;
  return Date.parse(stored) === Date.parse(requested);
}
