import type { Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'Where a page of a list ends: pass endCursor as `after` for the next page.' })
export class PageInfo {
  @Field(() => String, { nullable: true, description: 'Opaque cursor of the last item of this page; null for an empty page.' })
  endCursor!: string | null;

  @Field({ description: 'Whether more items follow this page.' })
  hasNextPage!: boolean;
}

export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
}

/** A cursor-paginated list of `node` (`{ nodes, pageInfo }`), named `<Node>Connection`. */
export function Connection<T>(node: Type<T>): Type<Page<T>> {
  @ObjectType({ isAbstract: true })
  abstract class ConnectionType implements Page<T> {
    @Field(() => [node])
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType as unknown as Type<Page<T>>;
}

/** `first` items after the cursor `after` (the services allow 1 to 200 per page). */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: 'Items per page, 1 to 200.' })
  first!: number;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

/** The services' page request from the GraphQL arguments. */
export function pageRequest(args: PageArgs): { first: number; after?: string } {
  return args.after ? { first: args.first, after: args.after } : { first: args.first };
}

/** A service's `{ items, pageInfo }` reply as a connection of mapped nodes. */
export function toPage<I, T>(reply: { items: I[]; pageInfo: PageInfo }, map: (item: I) => T): Page<T> {
  return { nodes: reply.items.map(map), pageInfo: reply.pageInfo };
}
