import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { registerDatasetCommands } from './commands/datasets';
import { registerJobCommands } from './commands/jobs';
import { registerAuditCommands, registerLineageCommands, registerVerifyCommand } from './commands/lineage';
import { registerDeployCommands, registerModelCommands } from './commands/models';
import { registerRunCommands } from './commands/runs';
import type { Runtime } from './context';
import { CliError, EXIT, redact } from './errors';

/** The version of the package this command line belongs to (package.json above this file, in src or dist). */
export function packageVersion(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'modeltrail' && pkg.version) return pkg.version;
    } catch {
      // not here: look further up
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}

const EXIT_CODES_HELP = `
Environment:
  MODELTRAIL_URL    the GraphQL API (default http://127.0.0.1:4000/graphql); --url overrides it
  MODELTRAIL_TOKEN  the bearer token (an API key, an OIDC JWT or a static token); --token overrides it

Exit codes:
  0  ok
  1  the operation failed or was refused (a GraphQL error such as BAD_USER_INPUT or CONFLICT;
     a job that did not succeed; a validation, promotion gate or report check that failed)
  2  usage error (unknown command or option, bad argument)
  3  not found (NOT_FOUND, or a missing file)
  4  unauthenticated or forbidden (UNAUTHENTICATED, FORBIDDEN, or no token given)
  5  cannot reach the API (connection refused, unknown host, no answer, not a GraphQL API,
     SERVICE_UNAVAILABLE)

--json on any command prints only JSON on stdout; errors always go to stderr.
`;

/** The `modeltrail` program: every command, writing through `runtime.io`. */
export function buildProgram(runtime: Runtime): Command {
  const program = new Command('modeltrail')
    .description('ModelTrail on the command line: datasets, runs, jobs, models, deployments, lineage and audit reports, through the GraphQL API')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--url <url>', 'the GraphQL API (default: MODELTRAIL_URL, else http://127.0.0.1:4000/graphql)'))
    .addOption(new Option('--token <token>', 'the bearer token (default: MODELTRAIL_TOKEN)'))
    .option('--json', 'print JSON only (for scripts)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', EXIT_CODES_HELP)
    .showSuggestionAfterError(true);
  registerDatasetCommands(program, runtime);
  registerRunCommands(program, runtime);
  registerJobCommands(program, runtime);
  registerModelCommands(program, runtime);
  registerDeployCommands(program, runtime);
  registerLineageCommands(program, runtime);
  registerAuditCommands(program, runtime);
  registerVerifyCommand(program, runtime);
  // Every command: errors as exceptions (not process.exit), output through the runtime, help and usage errors alike.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({
      writeOut: (text) => runtime.io.out(text),
      writeErr: (text) => runtime.io.err(text),
      outputError: (text, write) => write(text),
    });
    if (command !== program && command.commands.length > 0) command.showHelpAfterError('(add --help for usage)');
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
  return program;
}

/** Runs the command line on `argv` (the arguments after the program's name); resolves to the exit code. */
export async function runCli(argv: string[], runtime: Runtime): Promise<number> {
  const program = buildProgram(runtime);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  const secret = tokenIn(argv) ?? runtime.env.MODELTRAIL_TOKEN;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with exit code 0; anything else commander refuses is a usage error (its message is printed already).
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (error instanceof CliError) {
      if (error.message) runtime.io.err(`modeltrail: ${redact(error.message, secret)}\n`);
      if (error.exitCode === EXIT.USAGE) runtime.io.err('(add --help for usage)\n');
      return error.exitCode;
    }
    runtime.io.err(`modeltrail: ${redact(error instanceof Error ? error.message : String(error), secret)}\n`);
    return EXIT.FAILED;
  }
}

function tokenIn(argv: string[]): string | undefined {
  const at = argv.indexOf('--token');
  if (at >= 0) return argv[at + 1];
  const inline = argv.find((a) => a.startsWith('--token='));
  return inline?.slice('--token='.length);
}
