import { Extensions } from '@nestjs/graphql';
import type { ProjectRole } from '@modeltrail/contracts';
import type { EntityKind } from './project-of';

/**
 * An entity an operation is about: its kind and where its id is among the field's arguments, as
 * a dotted path (`id`, `input.jobId`); `*` walks every item of a list (`ids.*`,
 * `input.datasetVersions.*.datasetVersionId`). An absent or null value is skipped.
 */
export type EntityRef = readonly [EntityKind, string];

/**
 * Who may call a root field (every Query, Mutation and Subscription field carries one: the gateway
 * refuses to start otherwise). Whatever a field returns is filtered again by project on the way
 * out (lists keep what the caller may see, a single entity of another project is FORBIDDEN), so
 * a policy only has to say who may ask.
 */
export type AccessPolicy =
  /** Anyone authenticated; what the field returns is filtered by project. */
  | { kind: 'anyone'; reason: string }
  | { kind: 'platformAdmin' }
  /**
   * `role` in the project of each entity `of` names (alternatives such as a run or an experiment:
   * every one given is checked; none given needs a platform admin), and VIEWER in the projects of
   * the entities it `reads` (a source run, a reference dataset).
   */
  | { kind: 'role'; role: ProjectRole; of: ReadonlyArray<EntityRef>; reads: ReadonlyArray<EntityRef> }
  /** `role` in the project named by an argument; an absent argument means every project, filtered. */
  | { kind: 'inProject'; role: ProjectRole; arg: string }
  /** The resolver decides, as described (creating a project, granting roles, keys). */
  | { kind: 'resolver'; rule: string };

export const ACCESS_EXTENSION = 'access';

function access(policy: AccessPolicy): MethodDecorator & ClassDecorator & PropertyDecorator {
  return Extensions({ [ACCESS_EXTENSION]: policy });
}

/** Anyone authenticated may call it; `reason` says why that is safe. */
export function Anyone(reason: string) {
  return access({ kind: 'anyone', reason });
}

export function PlatformAdmin() {
  return access({ kind: 'platformAdmin' });
}

/** `role` in the project of the entity (or each of the alternative entities) `of`; `reads` need VIEWER in theirs. */
export function Needs(role: ProjectRole, of: EntityRef | ReadonlyArray<EntityRef>, ...reads: EntityRef[]) {
  const targets = (typeof of[0] === 'string' ? [of] : of) as ReadonlyArray<EntityRef>;
  return access({ kind: 'role', role, of: targets, reads });
}

/** `role` in the project whose id is the argument at `path` (absent: all, filtered). */
export function NeedsInProject(role: ProjectRole, path: string) {
  return access({ kind: 'inProject', role, arg: path });
}

/** The resolver checks access itself: `rule` says how (shown in the access reference). */
export function CheckedInResolver(rule: string) {
  return access({ kind: 'resolver', rule });
}

/** The values at a dotted path of the arguments (`*` expands lists); absent and null values are left out. */
export function valuesAt(args: unknown, path: string): string[] {
  let current: unknown[] = [args];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || value === undefined) continue;
      if (part === '*') {
        if (Array.isArray(value)) next.push(...value);
      } else if (typeof value === 'object') {
        next.push((value as Record<string, unknown>)[part]);
      }
    }
    current = next;
  }
  return current.filter((v): v is string => typeof v === 'string' && v.length > 0);
}
