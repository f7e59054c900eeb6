import { AccessResolver } from './access/access.resolver';
import { DatasetResolver } from './datasets/dataset.resolver';
import { DatasetSplitResolver, DatasetVersionResolver, ValidationReportResolver } from './datasets/dataset-version.resolver';
import { ExperimentResolver, ProjectResolver } from './experiments/project.resolver';
import { ArtifactResolver, RunDatasetVersionResolver, RunParamValueResolver, RunResolver, RunSeriesResolver } from './experiments/run.resolver';
import { HistoryResolver } from './history/history.resolver';
import { LineageNodeResolver, LineageResolver } from './lineage/lineage.resolver';
import { MONITORING_RESOLVERS } from './monitoring/monitoring.resolvers';
import { REGISTRY_RESOLVERS } from './registry/registry.resolver';
import { AgentGpuResolver, AgentResolver } from './scheduler/agent.resolver';
import { JobResolver, JobStatusChangeResolver, QueueEntryResolver } from './scheduler/job.resolver';
import { SweepBestResolver, SweepResolver, SweepTrialResolver } from './scheduler/sweep.resolver';
import { WEBHOOK_RESOLVERS } from './webhooks/webhooks.resolver';

/** Every resolver of the API: the module serves them, and the committed schema is printed from them. */
export const GATEWAY_RESOLVERS = [
  AccessResolver,
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
  LineageResolver,
  LineageNodeResolver,
  JobResolver,
  QueueEntryResolver,
  JobStatusChangeResolver,
  AgentResolver,
  AgentGpuResolver,
  SweepResolver,
  SweepTrialResolver,
  SweepBestResolver,
  ...REGISTRY_RESOLVERS,
  ...MONITORING_RESOLVERS,
  ...WEBHOOK_RESOLVERS,
] as const;
