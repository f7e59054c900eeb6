import { ConflictError, NotFoundError, PLATFORM_SCOPE, type ProjectRole, type TypedEvent, ValidationError } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The grants of one scope (a project, or the platform): who holds which role there. One stream
 * per scope (`accessStreamOf(scope)`), so the last-admin rule is checked on the whole scope at
 * once and two concurrent revocations cannot both pass it.
 *
 * Who may grant is the gateway's decision (it authorises the caller); this aggregate records
 * the decision with the caller as the events' actor.
 */

export type ScopeGrantsCommand =
  | { type: 'GrantRole'; scope: string; principal: string; role: ProjectRole; at: string }
  | { type: 'RevokeRole'; scope: string; principal: string; at: string };

export type ScopeGrantsEvent = TypedEvent<'access.RoleGranted.v1' | 'access.RoleRevoked.v1'>;

export interface ScopeGrantsState {
  /** Principal -> its role in the scope now. */
  roles: Readonly<Record<string, ProjectRole>>;
}

export const scopeGrantsDecider: Decider<ScopeGrantsCommand, ScopeGrantsEvent, ScopeGrantsState> = {
  initialState: () => ({ roles: {} }),

  decide(command, state) {
    const current = roleOf(state, command.principal);
    switch (command.type) {
      case 'GrantRole': {
        if (command.scope === PLATFORM_SCOPE && command.role !== 'ADMIN') {
          throw new ValidationError(`only ADMIN may be granted in the platform scope (a platform admin), not ${command.role}`, { field: 'role' });
        }
        if (current === command.role) return [];
        if (current === 'ADMIN') refuseLastAdmin(command.scope, command.principal, state, `change the role of ${command.principal} to ${command.role}`);
        return [
          { type: 'access.RoleGranted.v1', data: { scope: command.scope, principal: command.principal, role: command.role, previousRole: current, grantedAt: command.at } },
        ];
      }
      case 'RevokeRole': {
        if (current === null) {
          throw new NotFoundError(`${command.principal} holds no role in ${scopeName(command.scope)}`, { scope: command.scope, principal: command.principal });
        }
        if (current === 'ADMIN') refuseLastAdmin(command.scope, command.principal, state, `revoke ADMIN from ${command.principal}`);
        return [{ type: 'access.RoleRevoked.v1', data: { scope: command.scope, principal: command.principal, role: current, revokedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'access.RoleGranted.v1':
        return { roles: { ...state.roles, [event.data.principal]: event.data.role } };
      case 'access.RoleRevoked.v1': {
        const { [event.data.principal]: _revoked, ...roles } = state.roles;
        return { roles };
      }
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function roleOf(state: ScopeGrantsState, principal: string): ProjectRole | null {
  return Object.prototype.hasOwnProperty.call(state.roles, principal) ? state.roles[principal] : null;
}

/** A project keeps at least one ADMIN (the platform scope does not need one: PLATFORM_ADMINS of the configuration stay). */
function refuseLastAdmin(scope: string, principal: string, state: ScopeGrantsState, what: string): void {
  if (scope === PLATFORM_SCOPE) return;
  const admins = Object.values(state.roles).filter((role) => role === 'ADMIN').length;
  if (admins <= 1) {
    throw new ConflictError(`cannot ${what}: ${principal} is the last ADMIN of project ${scope}; grant ADMIN to someone else first`, { scope, principal });
  }
}

function scopeName(scope: string): string {
  return scope === PLATFORM_SCOPE ? 'the platform scope' : `project ${scope}`;
}
