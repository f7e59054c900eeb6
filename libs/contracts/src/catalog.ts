import { z } from 'zod';
import { ValidationError } from './errors';
import { isEventTypeName } from './naming';
import { parseWith } from './schema';

/** A stored event as seen by an upcaster: its stored type name and its data. */
export interface TypedPayload {
  type: string;
  data: unknown;
}

/** Turns an old shape into the next version. Registered by the stored type name it reads. */
export type Upcaster = (data: unknown) => TypedPayload;

export interface EventCatalogOptions {
  /** Reject event types that have no schema (production). Tests of the store itself relax it. */
  strict?: boolean;
}

/**
 * Schemas for every event type, and the upcasters that lift old stored shapes to current ones.
 * The event store validates each event against it before anything is written, and upcasts on
 * every read, so domain code only ever sees current shapes.
 */
export class EventCatalog {
  private readonly schemas = new Map<string, z.ZodType>();
  private readonly upcasters = new Map<string, Upcaster>();
  private readonly strict: boolean;

  constructor(schemas: Record<string, z.ZodType> = {}, options: EventCatalogOptions = {}) {
    this.strict = options.strict ?? true;
    for (const [type, schema] of Object.entries(schemas)) this.register(type, schema);
  }

  register(type: string, schema: z.ZodType): this {
    if (!isEventTypeName(type)) throw new Error(`event type "${type}" does not follow <context>.<EventName>.v<N>`);
    if (this.schemas.has(type)) throw new Error(`event type "${type}" is registered twice`);
    this.schemas.set(type, schema);
    return this;
  }

  /** Registers how to read `fromType` as a newer shape. Upcasters chain: v1 -> v2 -> v3. */
  registerUpcaster(fromType: string, upcaster: Upcaster): this {
    if (this.upcasters.has(fromType)) throw new Error(`an upcaster for "${fromType}" is registered twice`);
    this.upcasters.set(fromType, upcaster);
    return this;
  }

  has(type: string): boolean {
    return this.schemas.has(type);
  }

  types(): string[] {
    return [...this.schemas.keys()];
  }

  /** Validates the data of an event about to be appended; the error names the failing fields. */
  validate(type: string, data: unknown): unknown {
    const schema = this.schemas.get(type);
    if (!schema) {
      if (this.strict) throw new ValidationError(`event type "${type}" is not in the event catalog`, { type });
      return data;
    }
    return parseWith(schema, data, `event ${type}`);
  }

  /** Lifts a stored event to its newest shape, following the upcaster chain. */
  upcast<E extends TypedPayload>(event: E): E {
    let current: TypedPayload = { type: event.type, data: event.data };
    const seen = new Set<string>();
    for (let upcaster = this.upcasters.get(current.type); upcaster; upcaster = this.upcasters.get(current.type)) {
      if (seen.has(current.type)) throw new Error(`upcaster cycle at "${current.type}"`);
      seen.add(current.type);
      current = upcaster(current.data);
    }
    return current.type === event.type ? event : { ...event, type: current.type, data: current.data };
  }
}
