/** Stable error codes; the CLI maps them to exit codes. */
export type OutputsErrorCode =
  | 'BAD_USAGE'
  | 'BAD_CONFIG'
  | 'BAD_INPUT'
  | 'UNREACHABLE'
  /** The URL answers, but not as an InvokeAI API (a wrong path prefix, another web server). */
  | 'NOT_INVOKEAI'
  | 'AUTH_FAILED'
  | 'HTTP_ERROR'
  | 'NOT_FOUND'
  | 'TIMEOUT'
  | 'CLOSED';

export class OutputsError extends Error {
  constructor(
    readonly code: OutputsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutputsError';
  }
}

/** Exit codes of CONTRACT.md. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof OutputsError) {
    switch (err.code) {
      case 'BAD_USAGE':
      case 'BAD_CONFIG':
      case 'BAD_INPUT':
        return 2;
      case 'UNREACHABLE':
      case 'NOT_INVOKEAI':
      case 'AUTH_FAILED':
        return 3;
      default:
        return 1;
    }
  }
  return 1;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  // An Error from another realm (a vm context, a test runner's sandbox) fails instanceof but has its message.
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}
