import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/** Contracts of the `datasets` context: event payloads, command requests and replies. */

const uuid = uuidSchema();
export const DatasetName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'must start with a letter or digit and use only letters, digits, spaces, dots, dashes and underscores');
export const DatasetDescription = z.string().max(4_000, 'must be at most 4000 characters');

export const DatasetRegisteredV1 = z.object({
  datasetId: uuid,
  name: DatasetName,
  description: DatasetDescription,
  projectId: uuid.nullable(),
  registeredAt: z.iso.datetime(),
});
export const DatasetDescriptionChangedV1 = z.object({
  datasetId: uuid,
  description: DatasetDescription,
  changedAt: z.iso.datetime(),
});
export const DatasetArchivedV1 = z.object({
  datasetId: uuid,
  reason: z.string().min(1).max(1_000),
  archivedAt: z.iso.datetime(),
});

export const datasetsEvents = {
  'datasets.DatasetRegistered.v1': DatasetRegisteredV1,
  'datasets.DatasetDescriptionChanged.v1': DatasetDescriptionChangedV1,
  'datasets.DatasetArchived.v1': DatasetArchivedV1,
} as const;

export const RegisterDatasetRequest = z.object({
  /** Chosen by the caller, so a retried request lands on the same stream. Generated when absent. */
  datasetId: uuid.optional(),
  name: DatasetName,
  description: DatasetDescription.default(''),
  projectId: uuid.nullable().optional(),
});
export const DatasetReply = z.object({
  datasetId: uuid,
  name: z.string(),
  description: z.string(),
  projectId: uuid.nullable(),
  status: z.enum(['Active', 'Archived']),
  revision: z.number().int(),
});

/** Cursor pagination shared by list queries: `first` items after the opaque `after` cursor. */
export const PageRequest = z.object({
  first: z.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(20),
  after: z.string().min(1).optional(),
});
export const PageInfo = z.object({ endCursor: z.string().nullable(), hasNextPage: z.boolean() });

export const ListDatasetsRequest = PageRequest.extend({
  projectId: uuid.optional(),
  status: z.enum(['Active', 'Archived']).optional(),
});
export const DatasetListItem = DatasetReply.extend({
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
  updatedAt: z.iso.datetime(),
});
export const ListDatasetsReply = z.object({ items: z.array(DatasetListItem), pageInfo: PageInfo });

export const datasetsRpc = {
  registerDataset: defineRpc('mt.cmd.datasets.RegisterDataset', RegisterDatasetRequest, DatasetReply),
  changeDatasetDescription: defineRpc('mt.cmd.datasets.ChangeDatasetDescription', z.object({ datasetId: uuid, description: DatasetDescription }), DatasetReply),
  archiveDataset: defineRpc('mt.cmd.datasets.ArchiveDataset', z.object({ datasetId: uuid, reason: z.string().trim().min(1, 'must not be empty').max(1_000) }), DatasetReply),
  getDataset: defineRpc('mt.qry.datasets.GetDataset', z.object({ datasetId: uuid }), DatasetReply),
  listDatasets: defineRpc('mt.qry.datasets.ListDatasets', ListDatasetsRequest, ListDatasetsReply),
} as const;
