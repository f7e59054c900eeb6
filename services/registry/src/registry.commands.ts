import type { CommandHandler } from '@modeltrail/decider';
import type { ModelVersionCommand, ModelVersionEvent, ModelVersionState } from './model-version/model-version.decider';
import type { ModelCommand, ModelEvent, ModelState } from './model/model.decider';

/** Injection token of the models' command loop (stream `model-<id>`). */
export const MODEL_COMMANDS = Symbol('MODEL_COMMANDS');
export type ModelCommands = CommandHandler<ModelCommand, ModelEvent, ModelState>;

/** Injection token of the model versions' command loop (stream `model-version-<id>`). */
export const MODEL_VERSION_COMMANDS = Symbol('MODEL_VERSION_COMMANDS');
export type ModelVersionCommands = CommandHandler<ModelVersionCommand, ModelVersionEvent, ModelVersionState>;
