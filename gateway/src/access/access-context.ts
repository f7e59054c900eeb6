import { createHmac } from 'node:crypto';
import { ForbiddenError, type PrincipalAccess, type ProjectRole, roleAtLeast } from '@modeltrail/contracts';
import type { Identity } from '../context/authentication';

/**
 * What the caller of one operation may do: its identity, whether it is a platform admin (by
 * event, or named in PLATFORM_ADMINS), and its role in each project.
 *
 * Entities without a project (a dataset registered outside any project) are shared: anyone
 * authenticated may read them, only platform admins may change them.
 */
export class AccessContext {
  private readonly roles: Map<string, ProjectRole>;

  constructor(
    readonly identity: Identity,
    readonly platformAdmin: boolean,
    access: Pick<PrincipalAccess, 'projects'>,
    /** Keys the placeholders of redacted ids (the same on every replica, so pages of one walk agree). */
    private readonly redactionKey: Buffer,
  ) {
    this.roles = new Map(access.projects.map((p) => [p.projectId.toLowerCase(), p.role]));
  }

  get principal(): string {
    return this.identity.principal;
  }

  /** The caller's role in a project (ADMIN for a platform admin), or null. */
  roleIn(projectId: string): ProjectRole | null {
    if (this.platformAdmin) return 'ADMIN';
    return this.roles.get(projectId.toLowerCase()) ?? null;
  }

  /** Records a role this operation has just been granted (the definer of a new project), so the rest of it may use it. */
  granted(projectId: string, role: ProjectRole): void {
    this.roles.set(projectId.toLowerCase(), role);
  }

  /** Projects the caller holds a role in (a platform admin sees every project besides). */
  get projectRoles(): ReadonlyMap<string, ProjectRole> {
    return this.roles;
  }

  /** Whether the caller may act with `role` on something of `projectId` (null: shared, without project). */
  can(role: ProjectRole, projectId: string | null): boolean {
    if (this.platformAdmin) return true;
    if (projectId === null) return role === 'VIEWER';
    return roleAtLeast(this.roles.get(projectId.toLowerCase()), role);
  }

  canSee(projectId: string | null): boolean {
    return this.can('VIEWER', projectId);
  }

  /** FORBIDDEN unless `can(role, projectId)`; `what` names the operation and its target, never the project. */
  require(role: ProjectRole, projectId: string | null, what: string): void {
    if (this.can(role, projectId)) return;
    throw new ForbiddenError(
      projectId === null ? `${what} needs a platform admin: it has no project` : `${what} needs the ${role} role in its project`,
      { requiredRole: role },
    );
  }

  /**
   * What stands for the id of something the caller may not see: `redacted:` and a keyed digest of
   * the id, so the same hidden node is the same placeholder wherever it appears (the graph keeps
   * its shape) while the id itself is not told.
   */
  placeholderOf(id: string): string {
    return `redacted:${createHmac('sha256', this.redactionKey).update(id, 'utf8').digest('base64url').slice(0, 22)}`;
  }

  requirePlatformAdmin(what: string): void {
    if (!this.platformAdmin) throw new ForbiddenError(`${what} needs a platform admin`, { requiredRole: 'PLATFORM_ADMIN' });
  }
}
