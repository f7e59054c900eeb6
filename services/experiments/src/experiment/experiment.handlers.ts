import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { experimentIdFor, type ExperimentReply, experimentsRpc, type MessageHeaders, NotFoundError, type z } from '@modeltrail/contracts';
import { CommandHandler, type HandleResult, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { type ProjectCommand, projectDecider, type ProjectEvent, type ProjectState, projectStream } from '../project/project.decider';
import { type ExperimentCommand, experimentDecider, type ExperimentEvent, type ExperimentState, experimentStream } from './experiment.decider';

type CreateExperimentRequest = z.output<typeof experimentsRpc.createExperiment.request>;

/** NATS adapter of the Experiment aggregate. */
@Controller()
export class ExperimentHandlers {
  private readonly commands: CommandHandler<ExperimentCommand, ExperimentEvent, ExperimentState>;
  /** Reads project streams (this adapter never writes them). */
  private readonly projects: CommandHandler<ProjectCommand, ProjectEvent, ProjectState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.commands = new CommandHandler(store, experimentDecider);
    this.projects = new CommandHandler(store, projectDecider);
  }

  /** The id comes from the project and the name, so names are unique within a project. */
  @RpcPattern(experimentsRpc.createExperiment)
  async create(@Payload() req: CreateExperimentRequest, @RpcHeaders() headers: MessageHeaders): Promise<ExperimentReply> {
    const { state: project } = await this.projects.load(projectStream(req.projectId));
    const experimentId = experimentIdFor(req.projectId, req.name);
    const command: ExperimentCommand = {
      type: 'CreateExperiment',
      experimentId,
      projectId: req.projectId,
      project: project.status === 'Defined' ? { projectId: project.projectId, name: project.name } : null,
      name: req.name,
      description: req.description,
      at: this.clock.now(),
    };
    return experimentReply(experimentId, await this.commands.handle(experimentStream(experimentId), command, commandContextOf(headers)));
  }
}

export function experimentReply(experimentId: string, result: Pick<HandleResult<ExperimentState>, 'state' | 'revision'>): ExperimentReply {
  const { state } = result;
  if (state.status === 'Absent' || result.revision === 'no_stream') throw new NotFoundError(`experiment ${experimentId} does not exist`, { experimentId });
  const { status: _status, ...facts } = state;
  return { ...facts, revision: result.revision };
}
