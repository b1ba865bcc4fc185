import { randomUUID } from 'node:crypto';

import { NO_BOARD, WITH_BOARD_NODE_TYPES, savesToBoard, withBoard } from './boards';
import type { BoardField } from './boards';
import { WorkflowError, workflowErrorFromZod } from './errors';
import type { PathSegment } from './errors';
import type { Graph, GraphEdge, GraphNode } from './graph';
import { editorWorkflowSchema, invocationNodeDataSchema, isConnectionEdge } from './schema';
import type { EditorEdge, EditorNode, InvocationNodeData } from './schema';

/*
 * Mirrors what the editor does at "Invoke" (buildNodesGraph.ts and getBoardField in
 * invokeai/frontend/web/src/features/nodes/util/graph/, v6.3.0 and HEAD), checked against the graphs a
 * 6.3 server stored for editor runs (test/workflow/groundTruth.test.ts). Where the editor silently drops
 * something broken (an edge to a missing node, an edge without handles), we refuse instead: a run of a
 * silently different graph is worse than an error.
 */

/** Options of {@link workflowToGraph}. */
export interface WorkflowToGraphOptions {
  /**
   * Save every board-saving node's images to this board, whatever its `board` input says. `'none'` saves
   * them uncategorized. Applies to nodes that have a `board` input or whose type is in `WITH_BOARD_NODE_TYPES`.
   * @default undefined (each node keeps the board its workflow asks for)
   */
  boardId?: string | undefined;
  /**
   * The board the editor's "auto-add" setting would pick: `board` inputs left at "Auto" (or never set) get
   * `{board_id: autoAddBoardId}`. `'none'` (the editor's default) leaves them uncategorized.
   * @default undefined (same as `'none'`)
   */
  autoAddBoardId?: string | undefined;
}

/** Nodes the editor never sends: their values become `batch.data` of the enqueue body instead. */
const BATCH_NODE_TYPES: ReadonlySet<string> = new Set([
  'image_batch', 'string_batch', 'integer_batch', 'float_batch',
  'image_generator', 'string_generator', 'integer_generator', 'float_generator',
]);

/** Keys the graph node owns; an input with one of these names would overwrite them. */
const RESERVED_INPUTS: ReadonlySet<string> = new Set(['id', 'type', 'is_intermediate', 'use_cache']);

/** UI "connector" (reroute) nodes pass a connection through: in on this handle, out on `'out'`. */
const CONNECTOR_TYPE = 'connector';
const CONNECTOR_IN = 'in';

/** `call_saved_workflow` (6.14+) collects its per-workflow inputs into one `workflow_inputs` dict. */
const CALL_SAVED_WORKFLOW = 'call_saved_workflow';
const SAVED_WORKFLOW_INPUT_PREFIX = 'saved_workflow_input::';

/**
 * Whether `x` looks like an editor export (nodes as an array) rather than a bare graph (nodes keyed by id)
 * or an `enqueue_batch` body (`{batch: {graph}}`). It does not validate; {@link workflowToGraph} does.
 */
export function isEditorWorkflow(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Array.isArray((x as { nodes?: unknown }).nodes);
}

/**
 * Converts a workflow exported from the InvokeAI editor into the graph the editor would enqueue for it:
 * invocation nodes only, UI nodes dropped and connectors flattened into direct edges, each node's input
 * values inlined except those fed by an edge, and `board` inputs translated as the editor does.
 *
 * @param workflow parsed JSON of the export (or the `workflow` of a queue item).
 * @returns a new graph with a fresh `id`; the workflow is not modified and shares no objects with it.
 * @throws WorkflowError naming the JSON path of the first problem.
 */
export function workflowToGraph(workflow: unknown, opts: WorkflowToGraphOptions = {}): Graph {
  const parsed = editorWorkflowSchema.safeParse(workflow);
  if (!parsed.success) throw workflowErrorFromZod(parsed.error);
  const { nodes, edges } = parsed.data;

  const byId = indexNodes(nodes);
  const invocations = new Map<string, { index: number; data: InvocationNodeData }>();
  nodes.forEach((node, index) => {
    if (node.type !== 'invocation') return;
    // Already checked by editorNodeSchema; parsed again only to get the narrowed type.
    const data = invocationNodeDataSchema.parse(node.data);
    if (data.id !== undefined && data.id !== node.id) {
      throw new WorkflowError(['nodes', index, 'data', 'id'], `'${data.id}' differs from the node id '${node.id}'`);
    }
    if (BATCH_NODE_TYPES.has(data.type)) {
      throw new WorkflowError(
        ['nodes', index, 'data', 'type'],
        `'${data.type}' nodes expand into enqueue_batch data, which a single graph cannot carry; not supported`,
      );
    }
    invocations.set(node.id, { index, data });
  });

  const graphEdges = buildEdges(edges, byId, new Set(invocations.keys()));

  // fromEntries, not assignment: a node id "__proto__" must stay an ordinary key.
  const graphNodes: Record<string, GraphNode> = Object.fromEntries(
    [...invocations].map(([id, { index, data }]) => [id, buildNode(id, data, ['nodes', index, 'data', 'inputs'], opts)]),
  );

  // The editor omits every input fed by an edge, so a stale value in the export can never fail validation.
  for (const edge of graphEdges) {
    const node = graphNodes[edge.destination.node_id];
    if (!node) continue;
    const { field } = edge.destination;
    const packed = node['workflow_inputs'];
    if (node.type === CALL_SAVED_WORKFLOW && field.startsWith(SAVED_WORKFLOW_INPUT_PREFIX) && isRecord(packed)) {
      delete packed[field];
    } else {
      delete node[field];
    }
  }

  return { id: randomUUID(), nodes: graphNodes, edges: graphEdges };
}

function indexNodes(nodes: readonly EditorNode[]): Map<string, { index: number; node: EditorNode }> {
  const byId = new Map<string, { index: number; node: EditorNode }>();
  nodes.forEach((node, index) => {
    const first = byId.get(node.id);
    if (first) throw new WorkflowError(['nodes', index, 'id'], `duplicate node id '${node.id}' (see nodes[${first.index}])`);
    byId.set(node.id, { index, node });
  });
  return byId;
}

function buildNode(id: string, data: InvocationNodeData, at: PathSegment[], opts: WorkflowToGraphOptions): GraphNode {
  const fields: Array<[string, unknown]> = [];
  let packed: Array<[string, unknown]> | undefined;
  for (const [name, input] of Object.entries(data.inputs)) {
    if (RESERVED_INPUTS.has(name)) throw new WorkflowError([...at, name], `'${name}' is reserved and cannot be an input`);
    if (data.type === CALL_SAVED_WORKFLOW && name === 'workflow_inputs') continue;
    if (name === 'board' && isBoardValue(input.value)) {
      const board = translateBoard(input.value, opts.autoAddBoardId);
      if (board !== undefined) fields.push([name, board]);
      continue;
    }
    if (name === 'board' && WITH_BOARD_NODE_TYPES.has(data.type)) {
      throw new WorkflowError([...at, name, 'value'], `must be 'auto', 'none' or {"board_id": "<id>"}`);
    }
    // No `value` means the user never set it: JSON drops the editor's `undefined`, the server uses its default.
    if (input.value === undefined) continue;
    if (data.type === CALL_SAVED_WORKFLOW && name.startsWith(SAVED_WORKFLOW_INPUT_PREFIX)) {
      (packed ??= []).push([name, cloneValue(input.value, [...at, name, 'value'])]);
      continue;
    }
    fields.push([name, cloneValue(input.value, [...at, name, 'value'])]);
  }
  if (data.type === CALL_SAVED_WORKFLOW) fields.push(['workflow_inputs', Object.fromEntries(packed ?? [])]);

  const node: GraphNode = {
    id,
    type: data.type,
    is_intermediate: data.isIntermediate,
    use_cache: data.useCache,
    ...Object.fromEntries(fields),
  };
  if (opts.boardId !== undefined && opts.boardId !== '' && savesToBoard(data.type, data.inputs)) {
    return withBoard(node, opts.boardId);
  }
  return node;
}

type BoardValue = undefined | null | string | BoardField;

/** The values the editor's board picker stores: `'auto'`, `'none'`, `{board_id}`, or nothing yet. */
function isBoardValue(v: unknown): v is BoardValue {
  if (v === undefined || v === null || v === '' || v === 'auto' || v === NO_BOARD) return true;
  return isRecord(v) && typeof v['board_id'] === 'string' && v['board_id'] !== '';
}

/** The editor's `getBoardField`: "auto"/unset → the auto-add board, "none" → uncategorized, ids pass through. */
function translateBoard(value: BoardValue, autoAddBoardId: string | undefined): BoardField | undefined {
  if (value === NO_BOARD) return undefined;
  if (value === undefined || value === null || typeof value === 'string') {
    if (autoAddBoardId === undefined || autoAddBoardId === '' || autoAddBoardId === NO_BOARD) return undefined;
    return { board_id: autoAddBoardId };
  }
  return { board_id: value.board_id };
}

function buildEdges(
  edges: readonly EditorEdge[],
  byId: ReadonlyMap<string, { index: number; node: EditorNode }>,
  invocationIds: ReadonlySet<string>,
): GraphEdge[] {
  const out: GraphEdge[] = [];
  const seen = new Set<string>();
  edges.forEach((edge, i) => {
    if (!isConnectionEdge(edge)) return;
    for (const end of ['source', 'target'] as const) {
      if (!byId.has(edge[end])) throw new WorkflowError(['edges', i, end], `unknown node '${edge[end]}'`);
    }
    // Edges into UI nodes (connector inputs, notes) carry nothing to the server.
    if (!invocationIds.has(edge.target)) return;
    const source = byId.get(edge.source)?.node.type === CONNECTOR_TYPE
      ? resolveConnector(edge.source, edges, byId, invocationIds)
      : invocationIds.has(edge.source)
        ? { node_id: edge.source, field: handle(edge, 'sourceHandle', i) }
        : undefined;
    // A connector with nothing plugged in: the editor drops the edge, and so do we.
    if (!source) return;
    const graphEdge: GraphEdge = { source, destination: { node_id: edge.target, field: handle(edge, 'targetHandle', i) } };
    const key = JSON.stringify([source.node_id, source.field, edge.target, graphEdge.destination.field]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(graphEdge);
  });
  return out;
}

/** Follows a chain of connectors upstream to the invocation output that feeds it. */
function resolveConnector(
  connectorId: string,
  edges: readonly EditorEdge[],
  byId: ReadonlyMap<string, { index: number; node: EditorNode }>,
  invocationIds: ReadonlySet<string>,
): { node_id: string; field: string } | undefined {
  const visited = new Set<string>();
  let current = connectorId;
  while (!visited.has(current)) {
    visited.add(current);
    const incoming = edges.find(
      (e) => isConnectionEdge(e) && e.target === current && e.targetHandle === CONNECTOR_IN && typeof e.sourceHandle === 'string',
    );
    if (!incoming || typeof incoming.sourceHandle !== 'string') return undefined;
    if (invocationIds.has(incoming.source)) return { node_id: incoming.source, field: incoming.sourceHandle };
    if (byId.get(incoming.source)?.node.type !== CONNECTOR_TYPE) return undefined;
    current = incoming.source;
  }
  return undefined; // a loop of connectors
}

function handle(edge: EditorEdge, key: 'sourceHandle' | 'targetHandle', index: number): string {
  const value = edge[key];
  // editorEdgeSchema guarantees this for connection edges; kept so a schema change cannot yield a TypeError.
  if (typeof value !== 'string' || value === '') throw new WorkflowError(['edges', index, key], 'missing handle');
  return value;
}

/** A deep copy, so the graph shares nothing with the workflow; only plain data survives the trip to the server. */
function cloneValue(value: unknown, at: PathSegment[]): unknown {
  try {
    return structuredClone(value);
  } catch (err) {
    throw new WorkflowError(at, 'not plain JSON data', { cause: err });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
