import type { Command } from 'commander';
import { collect } from '../args';
import type { ApiClient } from '../client';
import { apiFor, emit, type Runtime } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { details, paint, table } from '../render';

const REQUEST_FIELDS = `id alias status gatesPassed justification requestedAt requestedBy decidedAt decidedBy decisionNote version
  model { id name } modelVersion { id version } gates { gate passed detail }`;

function requestDetails(r: any, color: boolean): string {
  return (
    details(
      [
        ['request', r.id],
        ['model', `${r.model.name} (${r.model.id})`],
        ['version', `${r.version} (${r.modelVersion.id})`],
        ['alias', r.alias],
        ['status', r.status],
        ['gates passed', r.gatesPassed],
        ['justification', r.justification],
        ['requested', `${r.requestedAt} by ${r.requestedBy}`],
        ['decided', r.decidedAt ? `${r.decidedAt} by ${r.decidedBy}${r.decisionNote ? `: ${r.decisionNote}` : ''}` : null],
      ],
      color,
    ) + table(['gate', 'result', 'detail'], r.gates.map((g: any) => [g.gate, g.passed ? paint('pass', 'green', color) : paint('FAIL', 'red', color), g.detail]), color)
  );
}

/** A model id, or (for convenience) a model version id whose model is meant. */
async function resolveModel(api: ApiClient, id: string): Promise<{ id: string; name: string }> {
  try {
    const { model } = await api.request(`query($id: ID!) { model(id: $id) { id name } }`, { id });
    return model;
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.NOT_FOUND) throw error;
    const { modelVersion } = await api.request(`query($id: ID!) { modelVersion(id: $id) { model { id name } } }`, { id }).catch((second: unknown) => {
      throw second instanceof CliError && second.exitCode === EXIT.NOT_FOUND ? new CliError(`NOT_FOUND: no model or model version has the id ${id}`, EXIT.NOT_FOUND, 'NOT_FOUND') : second;
    });
    return modelVersion.model;
  }
}

export function registerModelCommands(program: Command, runtime: Runtime): void {
  const color = runtime.io.color;
  const models = program.command('models').description('promote model versions to aliases, approve or reject promotions, read their history');

  models
    .command('list')
    .description('registered models, oldest first')
    .option('--project <projectId>', 'only this project\'s models')
    .action(async (options, command: Command) => {
      const { models: page } = await apiFor(command, runtime).request(
        `query($filter: ModelFilter) { models(filter: $filter, first: 200) { nodes { id name latestVersion registeredAt project { name } aliases { alias version } } pageInfo { hasNextPage endCursor } } }`,
        { filter: { projectId: options.project } },
      );
      emit(command, runtime, page, () =>
        table(['id', 'name', 'project', 'latest version', 'aliases'], page.nodes.map((m: any) => [m.id, m.name, m.project.name, m.latestVersion, m.aliases.map((a: any) => `${a.alias}→v${a.version}`).join(', ')]), color),
      );
    });

  models
    .command('promote')
    .description('request that a model version take an alias; every gate is judged and recorded now. Exit code 1 when a gate failed (the request is kept but cannot be approved)')
    .argument('<modelVersionId>', 'the model version')
    .requiredOption('--alias <alias>', 'the alias, e.g. champion, staging')
    .requiredOption('--justification <text>', 'why')
    .action(async (modelVersionId: string, options, command: Command) => {
      const { requestPromotion: request } = await apiFor(command, runtime).request(`mutation($input: RequestPromotionInput!) { requestPromotion(input: $input) { ${REQUEST_FIELDS} } }`, {
        input: { modelVersionId, alias: options.alias, justification: options.justification },
      });
      emit(command, runtime, request, () => requestDetails(request, color));
      if (!request.gatesPassed) {
        const failed = request.gates.filter((g: any) => !g.passed).map((g: any) => g.gate);
        throw new CliError(`request ${request.id} recorded, but gates failed: ${failed.join(', ')}; it cannot be approved`, EXIT.FAILED);
      }
    });

  models
    .command('approve')
    .description('approve a promotion request (not your own): the alias moves to the version')
    .argument('<requestId>', 'the promotion request')
    .option('--comment <text>', 'the approver\'s comment')
    .action(async (requestId: string, options, command: Command) => {
      const { approvePromotion: request } = await apiFor(command, runtime).request(`mutation($input: ApprovePromotionInput!) { approvePromotion(input: $input) { ${REQUEST_FIELDS} } }`, {
        input: { requestId, comment: options.comment },
      });
      emit(command, runtime, request, () => requestDetails(request, color));
    });

  models
    .command('reject')
    .description('reject a pending promotion request')
    .argument('<requestId>', 'the promotion request')
    .requiredOption('--reason <text>', 'why')
    .action(async (requestId: string, options, command: Command) => {
      const { rejectPromotion: request } = await apiFor(command, runtime).request(`mutation($input: RejectPromotionInput!) { rejectPromotion(input: $input) { ${REQUEST_FIELDS} } }`, {
        input: { requestId, reason: options.reason },
      });
      emit(command, runtime, request, () => requestDetails(request, color));
    });

  models
    .command('history')
    .description('a model\'s promotion requests and every move of its aliases (who requested and approved, when, why)')
    .argument('<modelId>', 'the model (or one of its versions)')
    .option('--alias <alias>', 'only this alias (repeatable)', collect(String), [])
    .action(async (id: string, options, command: Command) => {
      const api = apiFor(command, runtime);
      const model = await resolveModel(api, id);
      const { model: detail } = await api.request(
        `query($id: ID!) { model(id: $id) { id name latestVersion aliases { alias version } promotionRequests(first: 200) { nodes { id alias status version requestedBy requestedAt decidedBy decidedAt gatesPassed } } } }`,
        { id: model.id },
      );
      const requests = detail.promotionRequests.nodes.filter((r: any) => options.alias.length === 0 || options.alias.includes(r.alias));
      const aliases: string[] = options.alias.length ? options.alias : [...new Set<string>([...detail.aliases.map((a: any) => a.alias), ...requests.filter((r: any) => r.status === 'APPROVED').map((r: any) => r.alias)])].sort();
      const moves: any[] = [];
      for (const alias of aliases) {
        const { aliasHistory } = await api.request(
          `query($m: ID!, $a: String!) { aliasHistory(modelId: $m, alias: $a) { alias version modelVersion { id } previousModelVersion { id } requestedBy approvedBy reason validFrom validTo promotionRequest { id } } }`,
          { m: model.id, a: alias },
        );
        moves.push(...aliasHistory);
      }
      moves.sort((a, b) => b.validFrom.localeCompare(a.validFrom));
      emit(command, runtime, { model: { id: detail.id, name: detail.name, latestVersion: detail.latestVersion, aliases: detail.aliases }, aliasHistory: moves, promotionRequests: requests }, () =>
        `model ${detail.name} (${detail.id}), ${detail.latestVersion} version(s); aliases now: ${detail.aliases.map((a: any) => `${a.alias} → v${a.version}`).join(', ') || 'none'}\n` +
        (moves.length
          ? `alias moves, newest first:\n${table(['alias', 'version', 'from', 'to', 'requested by', 'approved by', 'reason'], moves.map((m) => [m.alias, m.version, m.validFrom, m.validTo ?? 'now', m.requestedBy, m.approvedBy, m.reason]), color)}`
          : 'no alias moves\n') +
        (requests.length
          ? `promotion requests, newest first:\n${table(['request', 'alias', 'version', 'status', 'gates', 'requested', 'decided'], requests.map((r: any) => [r.id, r.alias, r.version, r.status, r.gatesPassed ? 'passed' : 'failed', `${r.requestedAt} ${r.requestedBy}`, r.decidedAt ? `${r.decidedAt} ${r.decidedBy}` : null]), color)}`
          : 'no promotion requests\n'),
      );
    });
}

export function registerDeployCommands(program: Command, runtime: Runtime): void {
  const color = runtime.io.color;
  const deploymentRow = (d: any) => [d.id, d.environment, d.model.name, d.version, d.endpoint, `${d.deployedAt} ${d.deployedBy}`];
  const head = ['deployment', 'environment', 'model', 'version', 'endpoint', 'deployed'];
  const FIELDS = 'id environment endpoint version deployedAt deployedBy modelVersionId model { id name } reference { digest rows features { name kind } }';

  program
    .command('deploy')
    .description('deploy a model version to an environment: its training data is frozen as the drift reference and a monitor is created (see also: deployments list)')
    .argument('<modelVersionId>', 'the model version')
    .requiredOption('--env <environment>', 'e.g. production, staging')
    .requiredOption('--endpoint <url>', 'where the model serves')
    .option('--feature <name>', 'a feature to monitor (repeatable; default every column but the target)', collect(String), [])
    .option('--reference <datasetVersionId>', 'the training dataset version for the reference (when the version has several)')
    .option('--deployment-id <id>', 'a deployment id chosen by the caller')
    .action(async (modelVersionId: string, options, command: Command) => {
      if (!/^[A-Za-z0-9._-]+$/.test(options.env)) throw new UsageError(`--env "${options.env}": letters, digits, dots, dashes and underscores only`);
      const { deployModel: d } = await apiFor(command, runtime).request(`mutation($input: DeployModelInput!) { deployModel(input: $input) { ${FIELDS} } }`, {
        input: { modelVersionId, environment: options.env, endpoint: options.endpoint, features: options.feature.length ? options.feature : undefined, referenceDatasetVersionId: options.reference, deploymentId: options.deploymentId },
      });
      emit(command, runtime, d, () => table(head, [deploymentRow(d)], color) + (d.reference ? `reference ${d.reference.digest.slice(0, 12)}: ${d.reference.rows} rows, features ${d.reference.features.map((f: any) => f.name).join(', ')}\n` : ''));
    });

  program
    .command('deployments')
    .description('list deployments')
    .command('list')
    .description('deployments matching a filter, newest first')
    .option('--env <environment>', 'only this environment')
    .option('--model <modelId>', 'only this model')
    .option('--model-version <modelVersionId>', 'only this model version')
    .action(async (options, command: Command) => {
      const { deployments: page } = await apiFor(command, runtime).request(`query($filter: DeploymentFilter) { deployments(filter: $filter, first: 200) { nodes { ${FIELDS} } pageInfo { hasNextPage endCursor } } }`, {
        filter: { environment: options.env, modelId: options.model, modelVersionId: options.modelVersion },
      });
      emit(command, runtime, page, () => table(head, page.nodes.map(deploymentRow), color));
    });
}
