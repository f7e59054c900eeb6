/**
 * The error vocabulary shared by every layer: a domain rule, a NATS reply and a GraphQL error
 * all speak these codes, so a failure keeps its meaning from the decider to the portal.
 */
export const ERROR_CODES = ['VALIDATION', 'NOT_FOUND', 'CONFLICT', 'FORBIDDEN', 'UNAUTHENTICATED', 'UNAVAILABLE', 'INTERNAL'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class ModelTrailError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toPayload(): ErrorPayload {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export class ValidationError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('VALIDATION', message, details);
  }
}

export class NotFoundError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('NOT_FOUND', message, details);
  }
}

export class ConflictError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

export class ForbiddenError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('FORBIDDEN', message, details);
  }
}

export class UnauthenticatedError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNAUTHENTICATED', message, details);
  }
}

export class UnavailableError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNAVAILABLE', message, details);
  }
}

export class InternalError extends ModelTrailError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INTERNAL', message, details);
  }
}

/** Rebuilds the typed error from a payload that crossed a process boundary. */
export function errorFromPayload(payload: ErrorPayload): ModelTrailError {
  switch (payload.code) {
    case 'VALIDATION':
      return new ValidationError(payload.message, payload.details);
    case 'NOT_FOUND':
      return new NotFoundError(payload.message, payload.details);
    case 'CONFLICT':
      return new ConflictError(payload.message, payload.details);
    case 'FORBIDDEN':
      return new ForbiddenError(payload.message, payload.details);
    case 'UNAUTHENTICATED':
      return new UnauthenticatedError(payload.message, payload.details);
    case 'UNAVAILABLE':
      return new UnavailableError(payload.message, payload.details);
    case 'INTERNAL':
      return new InternalError(payload.message, payload.details);
    default: {
      const unknownCode: never = payload.code;
      return new InternalError(`unknown error code ${String(unknownCode)}: ${payload.message}`);
    }
  }
}
