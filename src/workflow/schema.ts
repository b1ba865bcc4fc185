import { z } from 'zod';

/*
 * The shape of a workflow exported from the InvokeAI editor (workflow schema 3.x, the `workflow` of an
 * enqueue_batch body). Only what the graph is built from is checked; everything else (form, exposedFields,
 * positions, labels, …) is UI state and passes through untouched, so these are all loose objects.
 */

/** One input of an invocation node: `value` is what the editor would send; absent means "not set". */
export const fieldInputSchema = z.looseObject({
  name: z.string().optional(),
  value: z.unknown().optional(),
});
export type FieldInput = z.infer<typeof fieldInputSchema>;

/** `data` of an `invocation` node. */
export const invocationNodeDataSchema = z.looseObject({
  id: z.string().min(1).optional(),
  type: z.string().min(1),
  inputs: z.record(z.string(), fieldInputSchema),
  isIntermediate: z.boolean(),
  useCache: z.boolean(),
});
export type InvocationNodeData = z.infer<typeof invocationNodeDataSchema>;

/**
 * A node of the editor canvas. `type` is `'invocation'` for real nodes; `'notes'`, `'connector'`,
 * `'current_image'` (and anything newer) are UI nodes. Only invocation nodes get their `data` checked.
 */
export const editorNodeSchema = z
  .looseObject({
    id: z.string().min(1),
    type: z.string().min(1),
    data: z.unknown().optional(),
  })
  .superRefine((node, ctx) => {
    if (node.type !== 'invocation') return;
    const data = invocationNodeDataSchema.safeParse(node.data);
    if (data.success) return;
    for (const issue of data.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['data', ...issue.path] });
    }
  });
export type EditorNode = z.infer<typeof editorNodeSchema>;

/**
 * A React Flow edge. `'default'` edges carry a connection and need both handles; `'collapsed'` edges only
 * draw a bundle between collapsed nodes. A missing `type` counts as `'default'` (React Flow's own default).
 */
export const editorEdgeSchema = z
  .looseObject({
    id: z.string().optional(),
    type: z.string().optional(),
    source: z.string().min(1),
    target: z.string().min(1),
    sourceHandle: z.string().nullish(),
    targetHandle: z.string().nullish(),
  })
  .superRefine((edge, ctx) => {
    if (!isConnectionEdge(edge)) return;
    for (const key of ['sourceHandle', 'targetHandle'] as const) {
      if (typeof edge[key] !== 'string' || edge[key] === '') {
        ctx.addIssue({ code: 'custom', message: `a '${edge.type ?? 'default'}' edge needs a ${key}`, path: [key] });
      }
    }
  });
export type EditorEdge = z.infer<typeof editorEdgeSchema>;

/** An editor workflow export. Unknown keys (name, meta, form, exposedFields, …) are kept. */
export const editorWorkflowSchema = z.looseObject({
  nodes: z.array(editorNodeSchema),
  edges: z.array(editorEdgeSchema),
});
export type EditorWorkflow = z.infer<typeof editorWorkflowSchema>;

/** Whether an edge is a real connection (as opposed to a `'collapsed'` drawing edge or a future UI type). */
export function isConnectionEdge(edge: { type?: string | undefined }): boolean {
  return edge.type === undefined || edge.type === 'default';
}
