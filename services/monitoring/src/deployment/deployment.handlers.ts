import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  commandScopedId,
  ConflictError,
  type DeploymentView,
  type MessageHeaders,
  type ModelVersionView,
  monitorIdFor,
  monitoringRpc,
  monitorStream,
  NotFoundError,
  type TaskType,
  ValidationError,
  type z,
} from '@modeltrail/contracts';
import { type CommandContext, commandContextOf, type CommandHandler } from '@modeltrail/decider';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { BatchReader } from '../batch/batch.reader';
import { ReferenceStore } from '../batch/reference.store';
import { CLOCK, type Clock } from '../clock';
import { MONITOR_COMMANDS, type MonitorCommands } from '../monitor/monitor.commands';
import { PLATFORM_CLIENTS, type PlatformClients } from '../platform.clients';
import { MonitoringViews } from '../read-model/monitoring.views';
import { checkDeployable, type DeploymentCommand, type DeploymentEvent, type DeploymentState, deploymentStream } from './deployment.decider';
import { chooseFeatures, referenceDatasetVersion } from './features';

type Req<K extends keyof typeof monitoringRpc> = z.output<(typeof monitoringRpc)[K]['request']>;

/** Injection token of the deployments' command loop. */
export const DEPLOYMENT_COMMANDS = Symbol('DEPLOYMENT_COMMANDS');
export type DeploymentCommands = CommandHandler<DeploymentCommand, DeploymentEvent, DeploymentState>;

/** NATS adapter of the Deployment aggregate. */
@Controller()
export class DeploymentHandlers {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DEPLOYMENT_COMMANDS) private readonly deployments: DeploymentCommands,
    @Inject(MONITOR_COMMANDS) private readonly monitors: MonitorCommands,
    @Inject(PLATFORM_CLIENTS) private readonly clients: PlatformClients,
    private readonly reader: BatchReader,
    private readonly references: ReferenceStore,
    private readonly views: MonitoringViews,
  ) {}

  /**
   * Deploys a model version: the version must exist and not be archived; its training data
   * (its TRAIN dataset version, read under the allowed roots and checked against the digest it
   * was registered with) is profiled into the reference, which is frozen in the artifact store;
   * the deployment records it, and its monitor is created with the default configuration.
   * The deployment id comes from the Mt-Command-Id when there is one, so a retried deploy is one
   * deployment (and a retry after a crash between the two appends creates the missing monitor).
   */
  @RpcPattern(monitoringRpc.deployModel)
  async deploy(@Payload() req: Req<'deployModel'>, @RpcHeaders() headers: MessageHeaders): Promise<DeploymentView> {
    const deploymentId = req.deploymentId ?? (headers.commandId ? commandScopedId(headers.commandId, 'deployment') : randomUUID());
    const monitorId = monitorIdFor(deploymentId);
    const version = checkDeployable(req.modelVersionId, await this.clients.modelVersion(req.modelVersionId, headers));
    const context = commandContextOf(headers);
    const [existing] = await this.views.deploymentRows([deploymentId]);
    if (existing) {
      if (existing.modelVersionId !== req.modelVersionId || existing.environment !== req.environment || existing.endpoint !== req.endpoint) {
        throw new ConflictError(`deployment ${deploymentId} already exists (model version ${existing.modelVersionId} in ${existing.environment})`, { deploymentId });
      }
      const position = await this.createMonitor(deploymentId, monitorId, version, context, headers);
      return this.views.deployment(deploymentId, position);
    }

    const train = referenceDatasetVersion(version.modelVersionId, version.datasetVersions, req.referenceDatasetVersionId);
    const data = await this.clients.datasetVersion(train.datasetVersionId, headers);
    if (!data) throw new NotFoundError(`dataset version ${train.datasetVersionId}, the training data of model version ${version.modelVersionId}, does not exist`, { datasetVersionId: train.datasetVersionId });
    if (!data.schema) {
      throw new ValidationError(`the training data ${data.uri} (dataset version ${data.datasetVersionId}) was never read by ModelTrail (a remote file): there is no schema to build the drift reference from; register a local copy`, {
        datasetVersionId: data.datasetVersionId,
      });
    }
    const project = await this.clients.project(version.projectId, headers);
    if (!project) throw new NotFoundError(`project ${version.projectId} of model version ${version.modelVersionId} does not exist`, { projectId: version.projectId });
    const { features, skippedColumns } = chooseFeatures(data.schema, project.target, req.features);
    const specs = features.map((f) => ({ name: f.name, kind: f.kind }));
    const columns = await this.reader.readFile(data.uri, data.format, specs, { kind: 'ANY' }, data.digest);
    const { stored } = await this.references.freeze(specs, columns);

    const at = this.clock.now();
    const deployed = await this.deployments.handle(
      deploymentStream(deploymentId),
      {
        type: 'DeployModel',
        deploymentId,
        monitorId,
        version,
        modelVersionId: req.modelVersionId,
        environment: req.environment,
        endpoint: req.endpoint,
        reference: {
          datasetVersionId: data.datasetVersionId,
          datasetId: data.datasetId,
          dataUri: data.uri,
          format: data.format,
          digest: stored.digest,
          uri: stored.uri,
          size: stored.size,
          rows: columns.rows,
          features,
          skippedColumns,
          target: project.target,
        },
        at,
      },
      context,
    );
    // The monitor exists because of the deployment.
    const monitorContext = { ...context, causationId: deployed.events[0]?.id ?? context.causationId };
    const position = await this.createMonitor(deploymentId, monitorId, version, monitorContext, headers, project.taskType);
    return this.views.deployment(deploymentId, Math.max(deployed.position ?? 0, position ?? 0) || undefined);
  }

  /** Creates the deployment's monitor (nothing when it exists). */
  private async createMonitor(
    deploymentId: string,
    monitorId: string,
    version: ModelVersionView,
    context: CommandContext,
    headers: MessageHeaders,
    taskType?: TaskType,
  ): Promise<number | undefined> {
    let task = taskType;
    if (task === undefined) {
      const project = await this.clients.project(version.projectId, headers);
      if (!project) throw new NotFoundError(`project ${version.projectId} of model version ${version.modelVersionId} does not exist`, { projectId: version.projectId });
      task = project.taskType;
    }
    const result = await this.monitors.handle(
      monitorStream(monitorId),
      {
        type: 'CreateMonitor',
        monitorId,
        deploymentId,
        modelId: version.modelId,
        modelVersionId: version.modelVersionId,
        projectId: version.projectId,
        experimentId: version.experimentId,
        runId: version.runId,
        taskType: task,
        baseline: version.metrics,
        datasetVersions: version.datasetVersions,
        at: this.clock.now(),
      },
      context,
    );
    return result.position;
  }
}
