import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { datasetsRpc } from '@modeltrail/contracts';
import { actorSigningKeyFromEnvironment, RpcClient } from '@modeltrail/messaging';
import { commandBaseline } from './command.bench';
import { type Benchmark, type BenchContext, inSeries, runConcurrent, summarize, summaryFigures, warmUpOps } from './harness';
import { BENCH_TOKEN, bootDatasets, bootGateway } from './services';

const CONCURRENCY = 8;
const DATASETS = 32;
const MUTATION = 'mutation Change($input: ChangeDatasetDescriptionInput!) { changeDatasetDescription(input: $input) { id name description } }';

/** The same mutation shape served by a bare Apollo Server whose resolver returns its input. */
const ECHO_SCHEMA = `#graphql
  type Dataset { id: ID! name: String! description: String! }
  input ChangeDatasetDescriptionInput { datasetId: ID! description: String! }
  type Query { ok: Boolean! }
  type Mutation { changeDatasetDescription(input: ChangeDatasetDescriptionInput!): Dataset! }
`;

async function post(url: string, variables: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
    body: JSON.stringify({ query: MUTATION, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  if (!response.ok || body.errors?.length || !body.data) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
}

/**
 * A GraphQL mutation end to end (HTTP, Apollo, authentication, gateway resolver, NATS, datasets
 * service, event store) against what such a mutation cannot avoid: a bare Apollo Server resolving
 * the same mutation (HTTP, parse, validate, execute) in series with the command baseline (a NATS
 * responder doing one INSERT + commit, see command.bench), each measured alone at the same
 * concurrency; their latencies add up percentile by percentile. The bare Apollo figures are
 * reported too.
 */
export const graphqlBenchmark: Benchmark = {
  name: 'graphql',
  async run(ctx: BenchContext) {
    const total = ctx.n(ctx.quick ? 300 : 2_000, 32);
    const schema = ctx.schema('gql');
    const service = await bootDatasets(ctx, schema, ctx.schema('gql_ds'));
    const gateway = await bootGateway(ctx, schema, ctx.schema('gql_gw'));
    const echo = new ApolloServer({
      typeDefs: ECHO_SCHEMA,
      resolvers: {
        Query: { ok: () => true },
        Mutation: { changeDatasetDescription: (_: unknown, args: { input: { datasetId: string; description: string } }) => ({ id: args.input.datasetId, name: 'echo', description: args.input.description }) },
      },
    });
    const { url: echoUrl } = await startStandaloneServer(echo, { listen: { port: 0, host: '127.0.0.1' } });
    try {
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 30_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
      const datasets: string[] = [];
      for (let i = 0; i < DATASETS; i++) datasets.push((await rpc.request(datasetsRpc.registerDataset, { name: `gql-${i}` }, { headers })).datasetId);
      const variables = (i: number, w: number) => ({ input: { datasetId: datasets[(w + CONCURRENCY * (Math.floor(i / CONCURRENCY) % (DATASETS / CONCURRENCY))) % DATASETS], description: `description number ${i} of the benchmark` } });

      await runConcurrent(CONCURRENCY, warmUpOps(ctx, CONCURRENCY), (i, w) => post(gateway.url, variables(i, w)));
      const ours = summarize(await runConcurrent(CONCURRENCY, total, (i, w) => post(gateway.url, variables(i, w))));
      await runConcurrent(CONCURRENCY, warmUpOps(ctx, CONCURRENCY), (i, w) => post(echoUrl, variables(i, w)));
      const apollo = summarize(await runConcurrent(CONCURRENCY, total, (i, w) => post(echoUrl, variables(i, w))));
      const command = summarize(await commandBaseline(ctx, schema, CONCURRENCY, total, (i, w) => variables(i, w).input));
      return {
        parameters: {
          mutations: total,
          concurrency: CONCURRENCY,
          datasets: DATASETS,
          mutation: 'changeDatasetDescription',
          client: 'fetch (undici), keep-alive',
          baseline: 'bare Apollo resolver + command baseline (NATS responder, one INSERT + commit), in series',
        },
        figures: [
          ...summaryFigures('graphql', 'changeDatasetDescription', ours, inSeries(apollo, command)),
          ...summaryFigures('graphql', 'changeDatasetDescription', ours, apollo, { suffix: 'vs bare Apollo', percentiles: [50, 99] }),
        ],
      };
    } finally {
      await echo.stop();
      await gateway.app.close();
      await service.close();
    }
  },
};
