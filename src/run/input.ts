import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OutputsError } from '../errors';
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
  /** Tag echoed in every event of the run (PROTOCOL §5.1). */
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

/** Reads a JSON input file (`-` = stdin); errors name the file and, for JSON syntax, the position. */
export function readJsonInput(file: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new OutputsError('BAD_INPUT', `${flag} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OutputsError('BAD_INPUT', `${flag} ${file === '-' ? 'stdin' : file}: not valid JSON (${(err as Error).message})`);
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
      if (!isEditorWorkflow(input.workflow)) throw new WorkflowError([], 'not a workflow exported from the InvokeAI editor (no nodes array)');
      const graph = workflowToGraph(input.workflow, opts.board ? { boardId: opts.board } : {});
      body = { batch: { graph, runs: 1, workflow: input.workflow } };
    } else if ('graph' in input) {
      const g = parseGraph(input.graph);
      body = { batch: { graph: opts.board ? setGraphBoard(g, opts.board) : g, runs: 1 } };
    } else {
      const r = batchBodySchema.safeParse(input.batch);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new WorkflowError(issue?.path.map((p) => (typeof p === 'number' ? p : String(p))) ?? [], issue?.message ?? 'invalid');
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
