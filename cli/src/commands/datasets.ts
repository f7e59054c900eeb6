import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { collect, cleaningStep, decimal, enumValue, formatOf, integer, validationRule } from '../args';
import { apiFor, emit, type Runtime } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { details, paint, table } from '../render';

const VERSION_FIELDS = `id version uri format digest size rows profiled registeredAt registeredBy
  dataset { id name } schema { name type nullable } parents { id } transform { kind description }`;
const DATASET_FIELDS = 'id name description status registeredAt registeredBy project { id name }';

const FORMATS = ['CSV', 'JSONL', 'PARQUET'] as const;

/** A local path as the API wants it (absolute); URIs (file://, s3://, https://...) as given. */
export function dataUri(location: string, cwd = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  return isAbsolute(location) ? location : resolve(cwd, location);
}

function versionRows(versions: any[]): unknown[][] {
  return versions.map((v) => [v.version, v.id, v.format, v.rows, v.size, v.digest?.slice(0, 12), v.transform?.kind ?? 'REGISTERED', v.registeredAt]);
}
const VERSION_HEAD = ['version', 'id', 'format', 'rows', 'bytes', 'digest', 'made by', 'registered'];

function versionDetails(v: any, color: boolean): string {
  const pairs: Array<[string, unknown]> = [
    ['id', v.id],
    ['dataset', `${v.dataset.name} (${v.dataset.id})`],
    ['version', v.version],
    ['uri', v.uri],
    ['format', v.format],
    ['digest', v.digest],
    ['bytes', v.size],
    ['rows', v.rows],
    ['registered', `${v.registeredAt} by ${v.registeredBy}`],
  ];
  if (v.transform) pairs.push(['made by', `${v.transform.kind}: ${v.transform.description}`]);
  if (v.parents?.length) pairs.push(['parents', v.parents.map((p: any) => p.id).join(', ')]);
  let text = details(pairs, color);
  if (v.schema?.length) text += table(['column', 'type', 'nullable'], v.schema.map((c: any) => [c.name, c.type, c.nullable]), color);
  return text;
}

export function registerDatasetCommands(program: Command, runtime: Runtime): void {
  const color = runtime.io.color;
  const datasets = program.command('datasets').description('register, validate, clean, split and show datasets and their versions');

  datasets
    .command('register')
    .description('register a data file as a new dataset (--name) or as the next version of one (--dataset); the platform reads the file (digest, rows, schema, profile)')
    .argument('<file>', 'the file: a path the platform can read (made absolute), or a file://, s3://, gs:// or https:// URI')
    .option('--name <name>', 'register a new dataset of this name with the file as its first version')
    .option('--dataset <datasetId>', 'add the file as the next version of this dataset')
    .option('--description <text>', 'the new dataset\'s description')
    .option('--project <projectId>', 'the project the new dataset belongs to')
    .addOption(new Option('--format <format>', 'csv, jsonl or parquet (default: from the extension)').argParser(enumValue(FORMATS, 'data format')))
    .option('--digest <sha256>', 'SHA-256 of the bytes (required for remote URIs)')
    .option('--size <bytes>', 'bytes, for remote URIs', integer(0, Number.MAX_SAFE_INTEGER))
    .action(async (file: string, options, command: Command) => {
      if (Boolean(options.name) === Boolean(options.dataset)) throw new UsageError('give either --name <name> (a new dataset) or --dataset <datasetId> (a new version of it)');
      if (options.dataset && (options.description || options.project)) throw new UsageError('--description and --project describe a new dataset: use them with --name');
      const format = options.format ?? formatOf(file);
      if (!format) throw new UsageError(`cannot tell the format of "${file}" from its extension: pass --format csv|jsonl|parquet`);
      const uri = dataUri(file);
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(file) && !existsSync(uri)) throw new CliError(`no such file: ${uri}`, EXIT.NOT_FOUND);
      const api = apiFor(command, runtime);
      let datasetId: string = options.dataset;
      let dataset: any;
      if (options.name) {
        ({ registerDataset: dataset } = await api.request(`mutation($input: RegisterDatasetInput!) { registerDataset(input: $input) { ${DATASET_FIELDS} } }`, {
          input: { name: options.name, description: options.description, projectId: options.project },
        }));
        datasetId = dataset.id;
      }
      const { registerDatasetVersion: version } = await api.request(`mutation($input: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $input) { ${VERSION_FIELDS} } }`, {
        input: { datasetId, uri, format, digest: options.digest, size: options.size },
      });
      emit(command, runtime, dataset ? { dataset, version } : { version }, () => versionDetails(version, color));
    });

  datasets
    .command('list')
    .description('list datasets, oldest first')
    .option('--project <projectId>', 'only this project\'s datasets')
    .addOption(new Option('--status <status>', 'active or archived').argParser(enumValue(['ACTIVE', 'ARCHIVED'], 'dataset status')))
    .option('--first <n>', 'datasets per page, 1 to 200', integer(1, 200), 50)
    .option('--after <cursor>', 'the page after this cursor')
    .action(async (options, command: Command) => {
      const { datasets: page } = await apiFor(command, runtime).request(
        `query($filter: DatasetFilter, $first: Int!, $after: String) { datasets(filter: $filter, first: $first, after: $after) { nodes { ${DATASET_FIELDS} versions(first: 1) { nodes { version } } } pageInfo { endCursor hasNextPage } } }`,
        { filter: { projectId: options.project, status: options.status }, first: options.first, after: options.after },
      );
      emit(command, runtime, page, () =>
        table(['id', 'name', 'status', 'versions', 'project', 'registered'], page.nodes.map((d: any) => [d.id, d.name, d.status, d.versions.nodes[0]?.version ?? 0, d.project?.name, d.registeredAt]), color) +
        (page.pageInfo.hasNextPage ? `more: --after ${page.pageInfo.endCursor}\n` : ''),
      );
    });

  datasets
    .command('show')
    .description('show a dataset with its versions, or one dataset version with its schema (--profile: and its column profile)')
    .argument('<id>', 'a dataset id or a dataset version id')
    .option('--profile', 'with the column profile (a version)')
    .action(async (id: string, options, command: Command) => {
      const api = apiFor(command, runtime);
      const profile = options.profile ? 'profile { rows columns { name type count missing distinct numeric { min max mean stddev } categorical { topValues { value count } } } }' : '';
      const versionQuery = `query($id: ID!) { datasetVersion(id: $id) { ${VERSION_FIELDS} ${profile} validations { id passed validatedAt } } }`;
      let dataset: any;
      try {
        ({ dataset } = await api.request(`query($id: ID!) { dataset(id: $id) { ${DATASET_FIELDS} versions(first: 200) { nodes { ${VERSION_FIELDS} } } } }`, { id }));
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== EXIT.NOT_FOUND) throw error;
        const { datasetVersion: version } = await api.request(versionQuery, { id }).catch((second: unknown) => {
          throw second instanceof CliError && second.exitCode === EXIT.NOT_FOUND ? new CliError(`NOT_FOUND: no dataset or dataset version has the id ${id}`, EXIT.NOT_FOUND, 'NOT_FOUND') : second;
        });
        emit(command, runtime, { datasetVersion: version }, () => {
          let text = versionDetails(version, color);
          if (version.profile) {
            text += table(
              ['column', 'type', 'count', 'missing', 'distinct', 'min', 'max', 'mean', 'stddev', 'top values'],
              version.profile.columns.map((c: any) => [c.name, c.type, c.count, c.missing, c.distinct, c.numeric?.min, c.numeric?.max, c.numeric?.mean, c.numeric?.stddev, c.categorical?.topValues?.slice(0, 3).map((t: any) => `${t.value} (${t.count})`).join(', ')]),
              color,
            );
          }
          if (version.validations.length) text += table(['validation', 'passed', 'at'], version.validations.map((r: any) => [r.id, r.passed, r.validatedAt]), color);
          return text;
        });
        return;
      }
      emit(command, runtime, { dataset }, () =>
        details([
          ['id', dataset.id],
          ['name', dataset.name],
          ['description', dataset.description],
          ['status', dataset.status],
          ['project', dataset.project ? `${dataset.project.name} (${dataset.project.id})` : 'shared (no project)'],
          ['registered', `${dataset.registeredAt} by ${dataset.registeredBy}`],
        ], color) + table(VERSION_HEAD, versionRows(dataset.versions.nodes), color),
      );
    });

  datasets
    .command('validate')
    .description('check a dataset version against rules; the report is recorded. Exit code 1 when a rule fails')
    .argument('<versionId>', 'the dataset version')
    .option('--rule <rule>', 'a rule (repeatable): not_null:<col>, unique:<col>, range:<col>:<min>:<max>, allowed:<col>:<a>,<b>, regex:<col>:<pattern>, max_missing:<col>:<fraction>', collect(validationRule), [])
    .action(async (versionId: string, options, command: Command) => {
      if (options.rule.length === 0) throw new UsageError('give at least one --rule, e.g. --rule not_null:age');
      const { validateDatasetVersion: report } = await apiFor(command, runtime).request(
        `mutation($input: ValidateDatasetVersionInput!) { validateDatasetVersion(input: $input) { id passed rowsChecked validatedAt validatedBy results { rule { type column min max values pattern fraction } passed failingRows exampleRows observed } } }`,
        { input: { datasetVersionId: versionId, rules: options.rule } },
      );
      emit(command, runtime, report, () =>
        table(
          ['rule', 'column', 'result', 'failing rows', 'example rows', 'observed'],
          report.results.map((r: any) => [r.rule.type, r.rule.column, r.passed ? paint('pass', 'green', color) : paint('FAIL', 'red', color), r.failingRows, r.exampleRows.join(', '), r.observed]),
          color,
        ) + `${report.passed ? 'passed' : 'FAILED'}: ${report.rowsChecked} rows checked (validation ${report.id})\n`,
      );
      if (!report.passed) throw new CliError(`validation ${report.id}: ${report.results.filter((r: any) => !r.passed).length} of ${report.results.length} rules failed`, EXIT.FAILED);
    });

  datasets
    .command('clean')
    .description('apply cleaning steps to a dataset version, making a derived version')
    .argument('<versionId>', 'the dataset version')
    .option('--step <step>', 'a step, in order (repeatable): drop_duplicates[:<cols>], drop_missing[:<cols>], fill_missing:<col>:<mean|median|mode|constant>[:<value>], cast:<col>:<type>, drop_columns:<cols>', collect(cleaningStep), [])
    .action(async (versionId: string, options, command: Command) => {
      if (options.step.length === 0) throw new UsageError('give at least one --step, e.g. --step drop_duplicates');
      const { cleanDatasetVersion: version } = await apiFor(command, runtime).request(`mutation($input: CleanDatasetVersionInput!) { cleanDatasetVersion(input: $input) { ${VERSION_FIELDS} } }`, {
        input: { datasetVersionId: versionId, steps: options.step },
      });
      emit(command, runtime, version, () => versionDetails(version, color));
    });

  datasets
    .command('split')
    .description('split a dataset version into train, validation and test versions (fractions sum to 1; the same seed gives the same split)')
    .argument('<versionId>', 'the dataset version')
    .option('--train <fraction>', 'train fraction', decimal(0, 1), 0.7)
    .option('--validation <fraction>', 'validation fraction', decimal(0, 1), 0.15)
    .option('--test <fraction>', 'test fraction', decimal(0, 1), 0.15)
    .requiredOption('--seed <n>', 'the seed', integer(-2147483648, 2147483647))
    .option('--stratify-by <column>', 'a column whose class proportions every part keeps')
    .action(async (versionId: string, options, command: Command) => {
      const { splitDatasetVersion: split } = await apiFor(command, runtime).request(
        `mutation($input: SplitDatasetVersionInput!) { splitDatasetVersion(input: $input) { id seed stratifyBy fractions { train validation test } train { id version rows digest } validation { id version rows digest } test { id version rows digest } } }`,
        { input: { datasetVersionId: versionId, train: options.train, validation: options.validation, test: options.test, seed: options.seed, stratifyBy: options.stratifyBy } },
      );
      emit(command, runtime, split, () =>
        table(['part', 'fraction', 'version id', 'version', 'rows', 'digest'], (['train', 'validation', 'test'] as const).map((part) => [part, split.fractions[part], split[part].id, split[part].version, split[part].rows, split[part].digest.slice(0, 12)]), color) +
        `split ${split.id} (seed ${split.seed}${split.stratifyBy ? `, stratified by ${split.stratifyBy}` : ''})\n`,
      );
    });
}
