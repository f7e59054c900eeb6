import { combineProjections } from '@modeltrail/readmodel';
import { lineageGraphProjection } from './graph/lineage.projection';
import { openLineageProjection } from './openlineage';

/**
 * The lineage service's read model as one projection (one read of the store and one
 * transaction per batch): the graph, its timelines, and the OpenLineage outbox.
 */
export const lineageReadModel = combineProjections('lineage.read-model.v1', [lineageGraphProjection, openLineageProjection]);
