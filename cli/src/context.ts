import type { Command } from 'commander';
import { ApiClient, resolveConnection } from './client';
import { json, type Io } from './render';

/** What every command runs with: where it writes and the environment it reads. */
export interface Runtime {
  io: Io;
  env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** The API client for a command: --url/--token, else MODELTRAIL_URL/MODELTRAIL_TOKEN. */
export function apiFor(command: Command, runtime: Runtime): ApiClient {
  const { url, token } = globalsOf(command);
  return new ApiClient(resolveConnection({ url, token }, runtime.env));
}

/** Writes a result: pure JSON with --json, the human rendering otherwise. */
export function emit(command: Command, runtime: Runtime, value: unknown, human: () => string): void {
  runtime.io.out(globalsOf(command).json ? json(value) : human());
}

/** A note for people (stderr), never in --json output. */
export function note(command: Command, runtime: Runtime, text: string): void {
  if (!globalsOf(command).json) runtime.io.err(text.endsWith('\n') ? text : `${text}\n`);
}
