/**
 * Exit codes of the `modeltrail` command line, and the error that carries one. Scripts may rely
 * on them (docs/cli.md):
 *
 *  0  ok
 *  1  the operation failed or was refused (a GraphQL error such as BAD_USER_INPUT or CONFLICT, a
 *     job that did not succeed, a report that does not verify)
 *  2  usage error: unknown command or option, a missing or malformed argument
 *  3  not found (NOT_FOUND: an unknown id; a file that does not exist)
 *  4  unauthenticated or forbidden (UNAUTHENTICATED, FORBIDDEN; no token given)
 *  5  cannot reach the API (connection refused, unknown host, no answer, not a GraphQL API, or
 *     the platform behind it unavailable: SERVICE_UNAVAILABLE)
 */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  UNAUTHORIZED: 4,
  UNREACHABLE: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for a GraphQL error's `extensions.code` (absent: the operation failed). */
export function exitCodeForGraphQLCode(code: string | undefined): ExitCode {
  switch (code) {
    case 'NOT_FOUND':
      return EXIT.NOT_FOUND;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
      return EXIT.UNAUTHORIZED;
    case 'SERVICE_UNAVAILABLE':
      return EXIT.UNREACHABLE;
    default:
      return EXIT.FAILED;
  }
}

/** A failure the command line reports on stderr (one message) and turns into its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The GraphQL `extensions.code`, when the API gave one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A malformed argument or a combination of options that makes no sense: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

export interface GraphQLErrorLike {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: Record<string, unknown>;
}

/** One CliError for the errors of a GraphQL answer: the first one decides the exit code; every message is kept. */
export function errorFromGraphQL(errors: ReadonlyArray<GraphQLErrorLike>, httpStatus?: number): CliError {
  const first = errors[0];
  let code = typeof first?.extensions?.code === 'string' ? first.extensions.code : undefined;
  if (code === undefined && httpStatus === 429) code = 'RATE_LIMITED';
  const lines = errors.map((e) => {
    const c = typeof e.extensions?.code === 'string' ? e.extensions.code : code;
    return `${c ? `${c}: ` : ''}${e.message}`;
  });
  return new CliError([...new Set(lines)].join('\n'), exitCodeForGraphQLCode(code), code);
}

/** Node's fetch wraps the socket error: `TypeError: fetch failed` with a `cause` that has the code. */
export function errorFromNetwork(error: unknown, url: string): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (error as { code?: string } | undefined)?.code;
  const name = (error as { name?: string } | undefined)?.name;
  const hint = 'set MODELTRAIL_URL or pass --url';
  if (name === 'TimeoutError' || name === 'AbortError') return new CliError(`cannot reach the API at ${url}: no answer in time (${hint})`, EXIT.UNREACHABLE);
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'unknown host',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_SOCKET: 'connection closed',
  };
  const reason = code ? `${why[code] ?? 'connection failed'} (${code})` : (cause?.message ?? (error instanceof Error ? error.message : String(error)));
  return new CliError(`cannot reach the API at ${url}: ${reason} (${hint})`, EXIT.UNREACHABLE);
}

/** Removes a secret from a text that is about to be printed. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('<token>');
}
