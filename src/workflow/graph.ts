import { randomUUID } from 'node:crypto';
import { z } from 'zod';

import { WorkflowError, workflowErrorFromZod } from './errors';

/** One end of a graph edge: a node id and one of its input or output field names. */
export interface EdgeEndpoint {
  node_id: string;
  field: string;
}

/** A connection from an output field of one node to an input field of another. */
export interface GraphEdge {
  source: EdgeEndpoint;
  destination: EdgeEndpoint;
}

/**
 * A node as InvokeAI's `Graph.nodes` holds it: the invocation's fields, flat, next to `id` and `type`.
 * `is_intermediate`/`use_cache` are omitted when the server default should apply.
 */
export interface GraphNode {
  id: string;
  type: string;
  is_intermediate?: boolean;
  use_cache?: boolean;
  [field: string]: unknown;
}

/** The `batch.graph` of an `enqueue_batch` body (docs/protocol.md §5.1). */
export interface Graph {
  id: string;
  nodes: Record<string, GraphNode>;
  edges: GraphEdge[];
}

const edgeEndpointSchema = z.looseObject({ node_id: z.string().min(1), field: z.string().min(1) });

/** A bare graph (`batch.graph`); unknown keys are kept. */
export const graphSchema = z.looseObject({
  id: z.string().min(1).optional(),
  nodes: z.record(z.string(), z.looseObject({ id: z.string().min(1), type: z.string().min(1) })),
  edges: z.array(z.looseObject({ source: edgeEndpointSchema, destination: edgeEndpointSchema })).default([]),
});

/**
 * Validates a bare graph the way the server would before accepting it: node keys equal node ids, and
 * every edge joins two nodes of the graph. A missing `id` gets a fresh UUID, as the server would give it.
 *
 * @throws WorkflowError with the path of the first problem.
 */
export function parseGraph(x: unknown): Graph {
  const parsed = graphSchema.safeParse(x);
  if (!parsed.success) throw workflowErrorFromZod(parsed.error);
  const { id, nodes, edges } = parsed.data;
  for (const [key, node] of Object.entries(nodes)) {
    if (node.id !== key) throw new WorkflowError(['nodes', key, 'id'], `node id '${node.id}' differs from its key`);
  }
  edges.forEach((edge, i) => {
    for (const end of ['source', 'destination'] as const) {
      if (!Object.hasOwn(nodes, edge[end].node_id)) {
        throw new WorkflowError(['edges', i, end, 'node_id'], `unknown node '${edge[end].node_id}'`);
      }
    }
  });
  return { ...parsed.data, id: id ?? randomUUID(), nodes, edges };
}
