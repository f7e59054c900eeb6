import { combineProjections } from '@modeltrail/readmodel';
import { modelVersionProjection } from '../model-version/model-version.projection';
import { modelProjection } from '../model/model.projection';

/**
 * The service's read model as one projection: models, versions, promotion requests and alias
 * assignments, kept by one runner (one read of the store and one transaction per batch).
 */
export const registryReadModel = combineProjections('registry.read-model.v1', [modelProjection, modelVersionProjection]);
