import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { FilterQuery, MikroORM } from '@mikro-orm/postgresql';
import { datasetsRpc, type RpcReply, ValidationError, type z } from '@modeltrail/contracts';
import { RpcPattern } from '@modeltrail/messaging';
import { READ_MODEL_ORM } from '@modeltrail/readmodel';
import { type DatasetRow, DatasetRowSchema } from './dataset/dataset.entity';

type ListRequest = z.output<typeof datasetsRpc.listDatasets.request>;

/** Request/reply queries answered from the datasets read model. */
@Controller()
export class DatasetsQueries {
  constructor(@Inject(READ_MODEL_ORM) private readonly orm: MikroORM) {}

  @RpcPattern(datasetsRpc.listDatasets)
  async listDatasets(@Payload() req: ListRequest): Promise<RpcReply<typeof datasetsRpc.listDatasets>> {
    const where: FilterQuery<DatasetRow> = {};
    if (req.projectId) where.projectId = req.projectId;
    if (req.status) where.status = req.status;
    if (req.after) {
      const { registeredAt, datasetId } = decodeCursor(req.after);
      where.$or = [{ registeredAt: { $gt: registeredAt } }, { registeredAt, datasetId: { $gt: datasetId } }];
    }
    const rows = await this.orm.em.fork().find(DatasetRowSchema, where, { orderBy: { registeredAt: 'asc', datasetId: 'asc' }, limit: req.first + 1 });
    const page = rows.slice(0, req.first);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({
        datasetId: row.datasetId,
        name: row.name,
        description: row.description,
        projectId: row.projectId,
        status: row.status,
        revision: row.revision,
        registeredAt: row.registeredAt.toISOString(),
        registeredBy: row.registeredBy,
        updatedAt: row.updatedAt.toISOString(),
      })),
      pageInfo: { endCursor: last ? encodeCursor(last) : null, hasNextPage: rows.length > req.first },
    };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Opaque to callers: the sort key of the last row seen. */
function encodeCursor(row: Pick<DatasetRow, 'registeredAt' | 'datasetId'>): string {
  return Buffer.from(`${row.registeredAt.toISOString()}|${row.datasetId}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { registeredAt: Date; datasetId: string } {
  const [time, datasetId] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const registeredAt = new Date(time);
  if (!datasetId || !UUID.test(datasetId) || Number.isNaN(registeredAt.getTime())) throw new ValidationError(`cursor "${cursor}" is not one this query returned`, { field: 'after' });
  return { registeredAt, datasetId };
}
