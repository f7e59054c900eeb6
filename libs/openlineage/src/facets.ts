import type { BaseFacet } from './types';

/**
 * Facets: the standard ones we write (with the `_schemaURL` of their spec version) and our
 * custom ones (keys `modeltrail_<name>`, schema `ModeltrailFacets.json#/$defs/<Facet>` under
 * the producer).
 */

/** Prefix of our custom facet keys (`modeltrail_training`). */
export const CUSTOM_FACET_PREFIX = 'modeltrail';

/** Versions of the standard facet specs we write (spec/facets/*.json, against core 2-0-2). */
export const STANDARD_FACET_SCHEMAS = {
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  sourceCodeLocation: 'https://openlineage.io/spec/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet',
  schema: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  dataSource: 'https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet',
  version: 'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
  dataQualityMetrics: 'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet',
} as const;

/** Our custom facets: key -> facet definition name in ModeltrailFacets.json (libs/openlineage/spec/). */
export const CUSTOM_FACETS = {
  modeltrail_training: 'ModeltrailTrainingRunFacet',
  modeltrail_job: 'ModeltrailJobRunFacet',
  modeltrail_placement: 'ModeltrailPlacementRunFacet',
  modeltrail_datasetVersion: 'ModeltrailDatasetVersionInputDatasetFacet',
  modeltrail_artifact: 'ModeltrailArtifactOutputDatasetFacet',
  modeltrail_modelVersion: 'ModeltrailModelVersionDatasetFacet',
} as const;
export type CustomFacetKey = keyof typeof CUSTOM_FACETS;

/** Version of our custom facet schemas (bump on an incompatible change: the URL must stay immutable). */
export const CUSTOM_FACETS_VERSION = '1-0-0';

export function customFacetSchemaUrl(producer: string, key: CustomFacetKey): string {
  return `${producer.replace(/\/+$/, '')}/spec/openlineage/${CUSTOM_FACETS_VERSION}/ModeltrailFacets.json#/$defs/${CUSTOM_FACETS[key]}`;
}

export function standardFacet(producer: string, key: keyof typeof STANDARD_FACET_SCHEMAS, fields: Record<string, unknown>): BaseFacet {
  return { _producer: producer, _schemaURL: STANDARD_FACET_SCHEMAS[key], ...fields };
}

export function customFacet(producer: string, key: CustomFacetKey, fields: Record<string, unknown>): BaseFacet {
  return { _producer: producer, _schemaURL: customFacetSchemaUrl(producer, key), ...fields };
}
