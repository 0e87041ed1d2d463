import { GraphQLError } from 'graphql';

/**
 * The small, stable set of error codes clients may branch on (`extensions.code`).
 * Add a code only when a client would handle it differently from the existing ones.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'BAD_USER_INPUT',
  'UNSUPPORTED_MEDIA_TYPE',
  'CORRUPT_AUDIO',
  'FILE_TOO_LARGE',
  'AUDIO_TOO_LONG',
  'AUDIO_TOO_SHORT',
  'NO_SPEECH_DETECTED',
  'EMPTY_REFERENCE_TEXT',
  'MODEL_OUTPUT_INVALID',
  'MODEL_UNAVAILABLE',
  /**
   * A job asked for a model version that neither a live worker, this process's worker nor a
   * configured model directory serves (a BAD_USER_INPUT refusal, raised before anything is written).
   */
  'UNKNOWN_MODEL_VERSION',
  /**
   * An LMS (LTI platform) refused, failed or answered nonsense to a request speechmark made for the
   * caller (syncLtiMembers): `extensions.status` (its HTTP status, or null) and `reason`. Not the
   * caller's input and not speechmark's fault: fix the platform's configuration, or retry later.
   */
  'LTI_PLATFORM_ERROR',
  /**
   * The utterance's recording was removed by the organisation's audio retention
   * (`Utterance.audioRemovedAt`): it can be neither played back nor assessed again; its scores stay.
   */
  'AUDIO_REMOVED',
  /** The database is unreachable or dropped the connection (restart, failover): retry shortly. HTTP 503 when it happens during authentication. */
  'SERVICE_UNAVAILABLE',
  /** The operation exceeds a query limit (size, tokens, depth, cost, aliases, directives, mutation fields). */
  'QUERY_TOO_COMPLEX',
  /** Too many requests (or active subscriptions) for this API key, or too many failed authentications from this address. */
  'RATE_LIMITED',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error whose message is safe to show to the API client. */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
    this.code = code;
    this.name = 'AppError';
  }
}

/**
 * A refusal of the caller's input (BAD_USER_INPUT) naming the input at fault, as the README's
 * convention says: `extensions.argument` is a dotted path from the called field's arguments through
 * input-object fields (`input.displayName`, `filter.createdAfter`, `first`); for a conflict between
 * several inputs, pass them all: `arguments` lists them and `argument` is the first. Domain code
 * whose inputs mirror a GraphQL input type writes the path that type gives it.
 */
export function badInput(message: string, argument: string | readonly [string, string, ...string[]], details?: Record<string, unknown>): AppError {
  const named = typeof argument === 'string' ? { argument } : { argument: argument[0], arguments: [...argument] };
  return new AppError('BAD_USER_INPUT', message, { ...named, ...details });
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * An error crossing a thread boundary (postMessage clones neither classes nor prototypes): a
 * refusal (AppError) keeps its code, message and details, so the receiving side raises the same
 * error the sending thread would have; anything else travels as its message only.
 */
export interface WireError {
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof AppError) {
    const { code: _code, ...details } = e.extensions;
    return { message: e.message, code: e.code, details };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

/** The wire error raised again: an AppError with its code, else a plain Error (masked at the edge) whose message starts with `context`. */
export function errorFromWire(e: WireError, context: string): Error {
  if (e.code) return new AppError(e.code as ErrorCode, e.message, e.details);
  return new Error(`${context}: ${e.message}`);
}
