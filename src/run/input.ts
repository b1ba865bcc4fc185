import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OutputsError, errorMessage } from '../errors';
import { locateJsonError } from './jsonError';
import { WorkflowError, isEditorWorkflow, parseGraph, setGraphBoard, workflowToGraph, type Graph } from '../workflow';

/** What `run` submits: exactly one of a bare graph, a whole `enqueue_batch` body, or an editor workflow. */
export type WorkInput = { graph: unknown } | { batch: unknown } | { workflow: unknown };

export interface EnqueueBody {
  prepend?: boolean;
  batch: Record<string, unknown> & { graph: Graph; runs?: number };
}

export interface BuildOptions {
  /** Board for every output node that has one; `"none"` removes boards. */
  board?: string | undefined;
  /** Overrides `batch.runs`. */
  runs?: number | undefined;
  /** Tag echoed in every event of the run (docs/protocol.md §5.1). */
  origin?: string;
}

const batchBodySchema = z.looseObject({
  prepend: z.boolean().optional(),
  batch: z.looseObject({
    graph: z.unknown(),
    runs: z.number().int().min(1).optional(),
    data: z.array(z.unknown()).nullish(),
    origin: z.string().nullish(),
  }),
});

/** How an input file is named in messages: `--graph FILE`, `--graph stdin`. */
export function inputLabel(flag: string, file: string): string {
  return `${flag} ${file === '-' ? 'stdin' : file}`;
}

/** Reads a JSON input file (`-` = stdin); errors are one line naming the file and, for bad JSON, where in it. */
export function readJsonInput(file: string, flag: string): unknown {
  const label = inputLabel(flag, file);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? String(err));
    throw new OutputsError('BAD_INPUT', `${label}: cannot read (${why})`);
  }
  // Editors on Windows like to start UTF-8 files with a byte order mark; JSON.parse does not.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = locateJsonError(text);
    if (!at) throw new OutputsError('BAD_INPUT', `${label}: not valid JSON (${errorMessage(err).split('\n')[0]})`);
    const where = at.path === '' ? '' : ` (in ${at.path})`;
    throw new OutputsError('BAD_INPUT', `${label}: not valid JSON at line ${at.line}, column ${at.column}${where}: ${at.problem}`);
  }
}

/**
 * Turns the input into the `enqueue_batch` body InvokeAI expects. An editor workflow is converted the way the
 * editor does it (its `auto` boards are left out: a CLI has no auto-add board).
 */
export function buildEnqueueBody(input: WorkInput, opts: BuildOptions, where: string): EnqueueBody {
  try {
    let body: EnqueueBody;
    if ('workflow' in input) {
      if (!isEditorWorkflow(input.workflow)) {
        const hint = looksLikeGraph(input.workflow) ? ' (this looks like a bare graph: use --graph)' : looksLikeBatch(input.workflow) ? ' (this looks like an enqueue_batch body: use --batch)' : '';
        throw new WorkflowError([], `not a workflow exported from the InvokeAI editor (no nodes array)${hint}`);
      }
      const graph = workflowToGraph(input.workflow, opts.board ? { boardId: opts.board } : {});
      body = { batch: { graph, runs: 1, workflow: input.workflow } };
    } else if ('graph' in input) {
      if (isEditorWorkflow(input.graph)) throw new WorkflowError(['nodes'], 'this is a workflow exported from the editor, not a graph: use --workflow');
      if (looksLikeBatch(input.graph)) throw new WorkflowError(['batch'], 'this is an enqueue_batch body, not a graph: use --batch');
      const g = parseGraph(input.graph);
      body = { batch: { graph: opts.board ? setGraphBoard(g, opts.board) : g, runs: 1 } };
    } else {
      const b = input.batch;
      const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
      if (!isObject(b)) throw new WorkflowError([], 'expected an enqueue_batch body: an object with a "batch" key');
      if (b['batch'] === undefined) {
        const hint = 'nodes' in b ? ' (this looks like a bare graph: use --graph)' : '';
        throw new WorkflowError(['batch'], `missing: an enqueue_batch body holds its work in "batch"${hint}`);
      }
      if (isObject(b['batch']) && b['batch']['graph'] === undefined) throw new WorkflowError(['batch', 'graph'], 'missing: a batch needs a graph');
      const r = batchBodySchema.safeParse(b);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new WorkflowError(issue?.path.map((p) => (typeof p === 'number' ? p : String(p))) ?? [], (issue?.message ?? 'invalid').replace(/\s+/g, ' '));
      }
      let graph: Graph;
      try {
        graph = parseGraph(r.data.batch.graph);
      } catch (err) {
        if (err instanceof WorkflowError) {
          const sub = err.path === '' ? '' : err.path.startsWith('[') ? err.path : `.${err.path}`;
          throw new WorkflowError(`batch.graph${sub}`, err.detail);
        }
        throw err;
      }
      body = { ...r.data, batch: { ...r.data.batch, graph: opts.board ? setGraphBoard(graph, opts.board) : graph } } as EnqueueBody;
    }
    if (opts.runs !== undefined) body.batch.runs = opts.runs;
    if (opts.origin && body.batch['origin'] == null) body.batch['origin'] = opts.origin;
    return body;
  } catch (err) {
    if (err instanceof WorkflowError) {
      throw new OutputsError('BAD_INPUT', `${where}: ${err.path ? `${err.path}: ` : ''}${err.detail}`);
    }
    throw err;
  }
}

function looksLikeGraph(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as { nodes?: unknown }).nodes === 'object' && !Array.isArray((x as { nodes?: unknown }).nodes);
}

function looksLikeBatch(x: unknown): boolean {
  const b = typeof x === 'object' && x !== null ? (x as { batch?: unknown }).batch : undefined;
  return typeof b === 'object' && b !== null && 'graph' in b;
}
