import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import { type DatasetReply, datasetsRpc, NotFoundError, type RpcReply, ValidationError, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { decodeTimeCursor, encodeTimeCursor, findCaughtUp, PROJECTION_RUNNERS, type ProjectionRunner, READ_MODEL_ORM } from '@modeltrail/readmodel';
import { datasetStream } from './dataset/dataset.decider';
import { type DatasetRow, DatasetRowSchema } from './dataset/dataset.entity';
import { datasetVersionStream } from './dataset-version/dataset-version.decider';
import { DatasetValidationRowSchema, type DatasetVersionRow, DatasetVersionRowSchema } from './dataset-version/dataset-version.entity';
import { validationReply, versionReply } from './dataset-version/dataset-version.reply';

type ListRequest = z.output<typeof datasetsRpc.listDatasets.request>;
type Req<K extends keyof typeof datasetsRpc> = z.output<(typeof datasetsRpc)[K]['request']>;
type Reply<K extends keyof typeof datasetsRpc> = RpcReply<(typeof datasetsRpc)[K]>;

/** Request/reply queries answered from the datasets read model. */
@Controller()
export class DatasetsQueries {
  constructor(
    @Inject(READ_MODEL_ORM) private readonly orm: MikroORM,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PROJECTION_RUNNERS) private readonly runners: ProjectionRunner[],
  ) {}

  @RpcPattern(datasetsRpc.listDatasets)
  async listDatasets(@Payload() req: ListRequest): Promise<RpcReply<typeof datasetsRpc.listDatasets>> {
    const where: FilterQuery<DatasetRow> = {};
    if (req.projectId) where.projectId = req.projectId;
    if (req.status) where.status = req.status;
    if (req.after) {
      const { at: registeredAt, id: datasetId } = decodeTimeCursor(req.after);
      where.$or = [{ registeredAt: { $gt: registeredAt } }, { registeredAt, datasetId: { $gt: datasetId } }];
    }
    const rows = await this.orm.em.fork().find(DatasetRowSchema, where, { orderBy: { registeredAt: 'asc', datasetId: 'asc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({
        ...datasetReply(row),
        registeredAt: row.registeredAt.toISOString(),
        registeredBy: row.registeredBy,
        updatedAt: row.updatedAt.toISOString(),
      })),
      pageInfo: { endCursor: last ? encodeTimeCursor(last.registeredAt, last.datasetId) : null, hasNextPage: rows.length > req.first },
    };
  }

  @RpcPattern(datasetsRpc.getDatasets)
  async getDatasets(@Payload() req: Req<'getDatasets'>): Promise<Reply<'getDatasets'>> {
    const find = () => this.orm.em.fork().find(DatasetRowSchema, { datasetId: { $in: req.datasetIds } });
    const rows = await findCaughtUp({ ids: req.datasetIds, find, idOf: (row) => row.datasetId, streamOf: datasetStream, store: this.store, runners: this.runners });
    return { items: rows.map(datasetReply) };
  }

  @RpcPattern(datasetsRpc.getDatasetVersion)
  async getDatasetVersion(@Payload() req: Req<'getDatasetVersion'>): Promise<Reply<'getDatasetVersion'>> {
    const find = () => this.orm.em.fork().find(DatasetVersionRowSchema, { datasetVersionId: req.datasetVersionId });
    const [row] = await findCaughtUp({ ids: [req.datasetVersionId], find, idOf: (r) => r.datasetVersionId, streamOf: datasetVersionStream, store: this.store, runners: this.runners });
    if (!row) throw new NotFoundError(`dataset version ${req.datasetVersionId} does not exist`, { datasetVersionId: req.datasetVersionId });
    return versionReply(row);
  }

  @RpcPattern(datasetsRpc.getDatasetVersions)
  async getDatasetVersions(@Payload() req: Req<'getDatasetVersions'>): Promise<Reply<'getDatasetVersions'>> {
    const find = () => this.orm.em.fork().find(DatasetVersionRowSchema, { datasetVersionId: { $in: req.datasetVersionIds } });
    const rows = await findCaughtUp({ ids: req.datasetVersionIds, find, idOf: (row) => row.datasetVersionId, streamOf: datasetVersionStream, store: this.store, runners: this.runners });
    return { items: rows.map(versionReply) };
  }

  /** Versions of a dataset, newest first. */
  @RpcPattern(datasetsRpc.listDatasetVersions)
  async listDatasetVersions(@Payload() req: Req<'listDatasetVersions'>): Promise<Reply<'listDatasetVersions'>> {
    const where: FilterQuery<DatasetVersionRow> = { datasetId: req.datasetId };
    if (req.after) where.version = { $lt: decodeVersionCursor(req.after) };
    const rows = await this.orm.em.fork().find(DatasetVersionRowSchema, where, { orderBy: { version: 'desc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return {
      items: page.map(versionReply),
      pageInfo: { endCursor: last ? Buffer.from(`v|${last.version}`, 'utf8').toString('base64url') : null, hasNextPage: rows.length > req.first },
    };
  }

  @RpcPattern(datasetsRpc.listValidations)
  async listValidations(@Payload() req: Req<'listValidations'>): Promise<Reply<'listValidations'>> {
    const rows = await this.orm.em.fork().find(DatasetValidationRowSchema, { datasetVersionId: { $in: req.datasetVersionIds } }, { orderBy: { position: 'desc' } });
    return { items: rows.map(validationReply) };
  }
}

function datasetReply(row: DatasetRow): DatasetReply {
  return { datasetId: row.datasetId, name: row.name, description: row.description, projectId: row.projectId, status: row.status, revision: row.revision };
}

function decodeVersionCursor(cursor: string): number {
  const [tag, version] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const n = Number(version);
  if (tag !== 'v' || !Number.isInteger(n) || n < 1) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return n;
}
