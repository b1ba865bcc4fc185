import type { z } from 'zod';

/** One step of a JSON path: an object key or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Formats a path the way a reader would type it: `nodes[3].data.inputs.board`.
 * Keys that are not identifiers are quoted (`nodes["canvas_output:JbPTiAJ26r"]`); the root is `''`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * A workflow or graph that cannot be converted or enqueued.
 *
 * `message` is one line, `"<path>: <what is wrong>"`, ready for a CLI to print.
 */
export class WorkflowError extends Error {
  /** Stable code, the same one the rest of the project uses for bad user input. */
  readonly code = 'BAD_INPUT' as const;
  /** JSON path of the offending part, e.g. `nodes[3].data.inputs.board`; `''` for the document itself. */
  readonly path: string;
  /** The message without the path prefix. */
  readonly detail: string;

  constructor(path: readonly PathSegment[] | string, detail: string, options?: { cause?: unknown }) {
    const p = typeof path === 'string' ? path : formatPath(path);
    super(`${p === '' ? '(document)' : p}: ${detail}`, options);
    this.name = 'WorkflowError';
    this.path = p;
    this.detail = detail;
  }
}

/** Turns the first zod issue into a `WorkflowError`, mentioning how many more there were. */
export function workflowErrorFromZod(error: z.ZodError, prefix: readonly PathSegment[] = []): WorkflowError {
  const [first] = error.issues;
  if (!first) return new WorkflowError([...prefix], 'invalid', { cause: error });
  const segments = first.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  // zod messages can span lines for unions; the contract is one line.
  const message = first.message.replace(/\s+/g, ' ').trim();
  return new WorkflowError([...prefix, ...segments], `${message}${more}`, { cause: error });
}
