import { DatasetResolver } from './datasets/dataset.resolver';
import { DatasetSplitResolver, DatasetVersionResolver, ValidationReportResolver } from './datasets/dataset-version.resolver';
import { ExperimentResolver, ProjectResolver } from './experiments/project.resolver';
import { ArtifactResolver, RunDatasetVersionResolver, RunParamValueResolver, RunResolver, RunSeriesResolver } from './experiments/run.resolver';
import { HistoryResolver } from './history/history.resolver';

/** Every resolver of the API: the module serves them, and the committed schema is printed from them. */
export const GATEWAY_RESOLVERS = [
  DatasetResolver,
  DatasetVersionResolver,
  ValidationReportResolver,
  DatasetSplitResolver,
  ProjectResolver,
  ExperimentResolver,
  RunResolver,
  RunDatasetVersionResolver,
  ArtifactResolver,
  RunSeriesResolver,
  RunParamValueResolver,
  HistoryResolver,
] as const;
