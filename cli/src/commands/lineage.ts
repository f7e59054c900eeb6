import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { decimal, enumValue, integer, isoTime } from '../args';
import { apiFor, emit, globalsOf, type Runtime } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { json } from '../render';
import { lineageTree, renderTree } from '../tree';

const NODE = 'id kind name depth direction redacted createdAt endedAt endReason';

export function registerLineageCommands(program: Command, runtime: Runtime): void {
  const lineage = program.command('lineage').description('the lineage graph of any entity');

  lineage
    .command('show')
    .description('the lineage of an entity (a model version, a run, a dataset version...) as a tree: what it came from (upstream) and what came of it (downstream), as of now or a past moment')
    .argument('<id>', 'the entity, e.g. a model version id')
    .addOption(new Option('--direction <direction>', 'upstream, downstream or both').argParser(enumValue(['UPSTREAM', 'DOWNSTREAM', 'BOTH'], 'direction')).default('BOTH'))
    .option('--depth <n>', 'how far to walk (default: no limit)', integer(0, 1000))
    .option('--as-of <time>', 'the graph as it stood at this ISO-8601 time', isoTime)
    .option('--as-of-position <n>', 'the graph as it stood after the event at this store position', decimal(0, Number.MAX_SAFE_INTEGER))
    .action(async (id: string, options, command: Command) => {
      if (options.asOf && options.asOfPosition !== undefined) throw new UsageError('give --as-of or --as-of-position, not both');
      const asOf = options.asOf ? { time: options.asOf } : options.asOfPosition !== undefined ? { position: options.asOfPosition } : undefined;
      const api = apiFor(command, runtime);
      const nodes: any[] = [];
      const edges: any[] = [];
      let graph: any;
      let after: string | null = null;
      // Every page of one snapshot (later pages keep the first page's position).
      for (let page = 0; page < 100; page++) {
        const answer: { lineage: any } = await api.request(
          `query($id: ID!, $direction: LineageDirection!, $depth: Int, $asOf: AsOfInput, $after: String) { lineage(id: $id, direction: $direction, depth: $depth, asOf: $asOf, first: 500, after: $after) {
            position totalNodes totalEdges root { ${NODE} } nodes { ${NODE} } edges { from to type createdAt endedAt } pageInfo { endCursor hasNextPage } } }`,
          { id, direction: options.direction, depth: options.depth, asOf, after },
        );
        graph = answer.lineage;
        nodes.push(...graph.nodes);
        edges.push(...graph.edges);
        if (!graph.pageInfo.hasNextPage) break;
        after = graph.pageInfo.endCursor;
      }
      const result = { position: graph.position, asOf: asOf ?? null, totalNodes: graph.totalNodes, totalEdges: graph.totalEdges, root: graph.root, nodes, edges };
      emit(command, runtime, result, () => `${renderTree(lineageTree(result))}\n${graph.totalNodes} nodes, ${graph.totalEdges} edges, as of store position ${graph.position}${options.asOf ? ` (${options.asOf})` : ''}\n`);
    });
}

export function registerAuditCommands(program: Command, runtime: Runtime): void {
  const audit = program.command('audit').description('audit reports of model versions');

  audit
    .command('key')
    .description('the log\'s verifier key (logKey), for `modeltrail verify --key`: keep it from a source you trust, not from the report')
    .action(async (_options, command: Command) => {
      const { logKey } = await apiFor(command, runtime).request(`{ logKey { origin keyName publicKey verifierKey } }`);
      emit(command, runtime, logKey, () => `${logKey.verifierKey}\n`);
    });

  audit
    .command('export')
    .description('the audit report of a model version (its lifecycle by stage, each claim citing its events, each event with its inclusion proof against a signed checkpoint), to a file or stdout')
    .argument('<modelVersionId>', 'the model version')
    .addOption(new Option('--format <format>', 'json (what `modeltrail verify` checks), markdown or html').argParser(enumValue(['JSON', 'MARKDOWN', 'HTML'], 'report format')).default('JSON'))
    .option('-o, --output <file>', 'write the report to this file (default: stdout)')
    .action(async (modelVersionId: string, options, command: Command) => {
      const { auditReport: doc } = await apiFor(command, runtime).request(
        `query($id: ID!, $format: AuditReportFormat!) { auditReport(modelVersionId: $id, format: $format) { format fileName contentType digest body } }`,
        { id: modelVersionId, format: options.format },
      );
      const body: string = doc.body.endsWith('\n') ? doc.body : `${doc.body}\n`;
      if (options.output) {
        try {
          writeFileSync(options.output, body);
        } catch (error) {
          throw new CliError(`cannot write ${options.output}: ${error instanceof Error ? error.message : String(error)}`, EXIT.FAILED);
        }
        emit(command, runtime, { file: options.output, format: doc.format, digest: doc.digest, bytes: Buffer.byteLength(body) }, () => `wrote the ${doc.format} audit report of ${modelVersionId} to ${options.output} (digest ${doc.digest})\n`);
        return;
      }
      // To stdout: the document itself (with --json and the JSON format, that is the report's JSON).
      if (globalsOf(command).json && doc.format !== 'JSON') runtime.io.out(json(doc));
      else runtime.io.out(body);
    });
}

export function registerVerifyCommand(program: Command, runtime: Runtime): void {
  program
    .command('verify')
    .description('verify an exported audit report offline (no network): the checkpoint signature, every event\'s hash, leaf and inclusion proof, every citation, the stream chains and the digest. Exit code 1 when a check fails')
    .argument('<report>', 'the report file (audit export --format json)')
    .option('--key <verifierKey>', 'the log\'s verifier key, obtained from its operator (modeltrail: logKey); without it the report is checked with its own key, which proves integrity, not origin')
    .action(async (file: string, options, command: Command) => {
      if (options.key !== undefined && options.key.trim() === '') throw new UsageError('--key is empty');
      // Loaded only here: the other commands need none of the verifier.
      const { formatVerifyResult, verifyReportFile } = await import('../../../infra/scripts/verify-report');
      const outcome = verifyReportFile(file, { verifierKey: options.key });
      if (!outcome.ok) throw new CliError(outcome.problem, outcome.reason === 'missing' ? EXIT.NOT_FOUND : EXIT.FAILED);
      const { result } = outcome;
      if (!globalsOf(command).json) for (const w of result.warnings) runtime.io.err(`WARNING: ${w}\n`);
      emit(command, runtime, { file, ...result }, () => formatVerifyResult(file, result));
      if (!result.ok) throw new CliError(`${file}: verification failed: ${result.failures.join('; ')}`, EXIT.FAILED);
    });
}
