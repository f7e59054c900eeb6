import { type Command, Option } from 'commander';
import { collect, enumValue, integer, metricFilter, paramFilter, runOrder } from '../args';
import { comparisonCells, comparisonRows } from '../compare';
import { apiFor, emit, type Runtime } from '../context';
import { UsageError } from '../errors';
import { cell, details, table } from '../render';

const RUN_FIELDS = 'id status params tags startedAt startedBy endedAt failureReason experiment { id name } latestMetrics { key value step }';

export function registerRunCommands(program: Command, runtime: Runtime): void {
  const color = runtime.io.color;
  const runs = program.command('runs').description('list, compare and show experiment runs');

  runs
    .command('list')
    .description('runs matching a filter, newest first unless ordered otherwise (the API\'s runs query)')
    .option('--experiment <experimentId>', 'runs of this experiment')
    .option('--project <projectId>', 'runs of this project')
    .addOption(new Option('--status <status>', 'running, completed or failed').argParser(enumValue(['RUNNING', 'COMPLETED', 'FAILED'], 'run status')))
    .option('--tag <tag>', 'runs carrying this tag (repeatable: every one)', collect(String), [])
    .option('--param <cond>', 'a condition on a parameter (repeatable): lr=0.01, depth>=6, loss!=logloss', collect(paramFilter), [])
    .option('--metric <cond>', 'a condition on a metric\'s latest value (repeatable): accuracy>0.9', collect(metricFilter), [])
    .option('--order-by <order>', 'metric:<key>, param:<key>, started_at or ended_at', runOrder)
    .option('--asc', 'ascending (default: descending)')
    .option('--first <n>', 'runs per page, 1 to 200', integer(1, 200), 20)
    .option('--after <cursor>', 'the page after this cursor')
    .action(async (options, command: Command) => {
      if (options.asc && !options.orderBy) throw new UsageError('--asc orders by --order-by: give it too');
      const filter = {
        experimentId: options.experiment,
        projectId: options.project,
        status: options.status,
        tags: options.tag.length ? options.tag : undefined,
        params: options.param.length ? options.param : undefined,
        metrics: options.metric.length ? options.metric : undefined,
      };
      const orderBy = options.orderBy ? { ...options.orderBy, direction: options.asc ? 'ASC' : 'DESC' } : undefined;
      const { runs: page } = await apiFor(command, runtime).request(
        `query($filter: RunFilter, $orderBy: RunOrder, $first: Int!, $after: String) { runs(filter: $filter, orderBy: $orderBy, first: $first, after: $after) { nodes { ${RUN_FIELDS} } pageInfo { endCursor hasNextPage } } }`,
        { filter, orderBy, first: options.first, after: options.after },
      );
      emit(command, runtime, page, () => {
        const metricKeys = [...new Set<string>(page.nodes.flatMap((r: any) => r.latestMetrics.map((m: any) => m.key)))].sort().slice(0, 6);
        return (
          table(
            ['id', 'status', 'experiment', 'params', ...metricKeys, 'started'],
            page.nodes.map((r: any) => [
              r.id,
              r.status,
              r.experiment.name,
              Object.entries(r.params).map(([k, v]) => `${k}=${cell(v)}`).join(' '),
              ...metricKeys.map((k) => r.latestMetrics.find((m: any) => m.key === k)?.value),
              r.startedAt,
            ]),
            color,
          ) + (page.pageInfo.hasNextPage ? `more: --after ${page.pageInfo.endCursor}\n` : '')
        );
      });
    });

  runs
    .command('compare')
    .description('two or more runs side by side: parameters and the latest value of each metric; rows that differ are marked *')
    .argument('<runIds...>', 'the runs (two or more)')
    .option('--metric <key>', 'compare only these metrics (repeatable)', collect(String), [])
    .action(async (ids: string[], options, command: Command) => {
      if (ids.length < 2) throw new UsageError('compare needs two or more run ids');
      const { compareRuns } = await apiFor(command, runtime).request(
        `query($ids: [ID!]!, $keys: [String!]) { compareRuns(ids: $ids, keys: $keys, maxPointsPerSeries: 2) {
          runs { id status params experiment { name } }
          differingParams { key values { run { id } value } }
          commonParams { key value }
          metrics { key series { run { id } count latest { value step } } } } }`,
        { ids, keys: options.metric.length ? options.metric : undefined },
      );
      const rows = comparisonRows(compareRuns);
      emit(command, runtime, { ...compareRuns, rows: rows.map((r) => ({ ...r, values: r.values.map((v) => v ?? null) })) }, () =>
        table(['', ...compareRuns.runs.map((r: any) => `${r.id}\n${r.status}`)], comparisonCells(rows, color, cell), color) +
        `* differs between the runs (${rows.filter((r) => r.differs).length} of ${rows.length} rows)\n`,
      );
    });

  runs
    .command('show')
    .description('one run: parameters, data, metrics, artifacts')
    .argument('<runId>', 'the run')
    .action(async (id: string, _options, command: Command) => {
      const { run } = await apiFor(command, runtime).request(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} codeRef { repository commit path } datasetVersions { role datasetVersion { id version dataset { name } } }
          latestMetrics { key value step min max count } artifacts { name digest size uri } modelVersions { id version model { name } } } }`,
        { id },
      );
      emit(command, runtime, run, () => {
        let text = details(
          [
            ['id', run.id],
            ['experiment', `${run.experiment.name} (${run.experiment.id})`],
            ['status', run.status + (run.failureReason ? `: ${run.failureReason}` : '')],
            ['started', `${run.startedAt} by ${run.startedBy}`],
            ['ended', run.endedAt],
            ['tags', run.tags.join(', ')],
            ['code', run.codeRef ? `${run.codeRef.repository}@${run.codeRef.commit}${run.codeRef.path ? ` ${run.codeRef.path}` : ''}` : null],
            ...Object.entries(run.params).map(([k, v]) => [`param ${k}`, v] as [string, unknown]),
          ],
          color,
        );
        if (run.datasetVersions.length) text += table(['role', 'dataset', 'version', 'id'], run.datasetVersions.map((d: any) => [d.role, d.datasetVersion.dataset.name, d.datasetVersion.version, d.datasetVersion.id]), color);
        if (run.latestMetrics.length) text += table(['metric', 'latest', 'step', 'min', 'max', 'points'], run.latestMetrics.map((m: any) => [m.key, m.value, m.step, m.min, m.max, m.count]), color);
        if (run.artifacts.length) text += table(['artifact', 'bytes', 'digest'], run.artifacts.map((a: any) => [a.name, a.size, a.digest]), color);
        if (run.modelVersions.length) text += table(['model', 'version', 'id'], run.modelVersions.map((v: any) => [v.model.name, v.version, v.id]), color);
        return text;
      });
    });
}
