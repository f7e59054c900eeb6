export { openLineageMigrations } from './openlineage.migrations';
export {
  openLineageProjection,
  OPENLINEAGE_PROJECTION_NAME,
  openLineageNamesTable,
  openLineageDatasetVersionsTable,
  openLineageRunsTable,
  type OpenLineageNameRow,
  type OpenLineageDatasetVersionRow,
  type OpenLineageRunRow,
  type OpenLineageEvent,
} from './openlineage.projection';
export { OpenLineageDelivery, type OpenLineageDeliveryOptions, type OpenLineageSink, type OpenLineageDeliveryLogger } from './openlineage.delivery';
export { OpenLineageReader } from './openlineage.reader';
export { buildRunEvents, loadLookup } from './openlineage.documents';
