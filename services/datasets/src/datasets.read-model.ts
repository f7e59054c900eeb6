import { combineProjections } from '@modeltrail/readmodel';
import { datasetVersionProjection } from './dataset-version/dataset-version.projection';
import { datasetProjection } from './dataset/dataset.projection';

/**
 * The service's read model as one projection: datasets, their versions, validations and
 * splits, kept by one runner (one read of the store and one transaction per batch for all four
 * tables). Its checkpoint replaced those of the two projections it combines (migration 0003).
 */
export const datasetsReadModel = combineProjections('datasets.read-model.v2', [datasetProjection, datasetVersionProjection]);

