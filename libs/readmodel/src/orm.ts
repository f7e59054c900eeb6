import { type EntitySchema, MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';

export interface ReadModelOrmOptions {
  databaseUrl: string;
  /** The service's own schema: its tables, checkpoints and processed ids live there. */
  schema: string;
  entities: ReadonlyArray<EntitySchema<any>>;
  poolSize?: number;
  debug?: boolean;
}

/**
 * MikroORM for one service's read models (docs/architecture.md: Inside a service). Tables come from the service's SQL
 * migrations (`migrate()` from @modeltrail/postgres), never from schema synchronisation, so the
 * ORM here only maps rows. Every unit of work runs on a fork (`em.fork()` or `em.transactional`):
 * the global context is disabled so that requests can never share an identity map.
 */
export async function openReadModelOrm(options: ReadModelOrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: options.databaseUrl,
    schema: options.schema,
    entities: [...options.entities],
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: options.poolSize ?? 5 },
    debug: options.debug ?? false,
  });
}
