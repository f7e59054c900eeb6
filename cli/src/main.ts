#!/usr/bin/env node
import { runCli } from './program';
import { processIo } from './render';

/** `modeltrail`: the command line of the platform (docs/cli.md). */
runCli(process.argv.slice(2), { io: processIo(process.env), env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`modeltrail: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
