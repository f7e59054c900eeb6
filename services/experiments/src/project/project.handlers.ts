import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { experimentsRpc, type MessageHeaders, NotFoundError, projectIdFor, type ProjectReply, type z } from '@modeltrail/contracts';
import { CommandHandler, type HandleResult, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { type ProjectCommand, projectDecider, type ProjectEvent, type ProjectState, projectStream } from './project.decider';

type DefineProjectRequest = z.output<typeof experimentsRpc.defineProject.request>;

/** NATS adapter of the Project aggregate. */
@Controller()
export class ProjectHandlers {
  private readonly commands: CommandHandler<ProjectCommand, ProjectEvent, ProjectState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.commands = new CommandHandler(store, projectDecider);
  }

  /** The id comes from the name, so a second project of the same name lands on the same stream and is refused there. */
  @RpcPattern(experimentsRpc.defineProject)
  async define(@Payload() req: DefineProjectRequest, @RpcHeaders() headers: MessageHeaders): Promise<ProjectReply> {
    const projectId = projectIdFor(req.name);
    const command: ProjectCommand = {
      type: 'DefineProject',
      projectId,
      name: req.name,
      problem: req.problem,
      taskType: req.taskType,
      target: req.target ? req.target : null,
      successCriteria: req.successCriteria,
      at: this.clock.now(),
    };
    return projectReply(projectId, await this.commands.handle(projectStream(projectId), command, commandContextOf(headers)));
  }
}

export function projectReply(projectId: string, result: Pick<HandleResult<ProjectState>, 'state' | 'revision'>): ProjectReply {
  const { state } = result;
  if (state.status === 'Undefined' || result.revision === 'no_stream') throw new NotFoundError(`project ${projectId} does not exist`, { projectId });
  const { status: _status, ...facts } = state;
  return { ...facts, revision: result.revision };
}
