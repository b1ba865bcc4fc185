/** Small graphs of real InvokeAI node types that need no models; each test picks the shape it needs. */

type Node = Record<string, unknown> & { id: string; type: string };
export type Link = [from: string, field: string, to: string, toField: string];

export function graph(nodes: Node[], links: Link[] = [], id = 'g'): Record<string, unknown> {
  return {
    id,
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    edges: links.map(([s, sf, d, df]) => ({ source: { node_id: s, field: sf }, destination: { node_id: d, field: df } })),
  };
}

export const blank = (id: string, extra: Record<string, unknown> = {}): Node => ({
  id,
  type: 'blank_image',
  width: 64,
  height: 48,
  mode: 'RGB',
  color: { r: 10, g: 20, b: 30, a: 255 },
  is_intermediate: false,
  use_cache: false,
  ...extra,
});

export const save = (id: string, board?: string, extra: Record<string, unknown> = {}): Node => ({
  id,
  type: 'save_image',
  ...(board ? { board: { board_id: board } } : {}),
  is_intermediate: false,
  use_cache: false,
  ...extra,
});

/** An intermediate blank image saved by `save_image` (optionally to a board). */
export function saveOne(board?: string): Record<string, unknown> {
  return graph([blank('make', { is_intermediate: true }), save('out', board)], [['make', 'image', 'out', 'image']]);
}

/** Two output nodes writing to the same board. */
export function twoOutputs(board: string): Record<string, unknown> {
  return graph(
    [blank('make', { is_intermediate: true }), save('out_a', board), save('out_b', board)],
    [
      ['make', 'image', 'out_a', 'image'],
      ['make', 'image', 'out_b', 'image'],
    ],
  );
}

/** range → iterate → blank_image: one workflow node, `count` executions. */
export function iterate(count: number, board?: string): Record<string, unknown> {
  return graph(
    [
      { id: 'sizes', type: 'range', start: 16, stop: 16 + 8 * count, step: 8, is_intermediate: true, use_cache: true },
      { id: 'each', type: 'iterate', is_intermediate: true, use_cache: true },
      blank('tile', board ? { board: { board_id: board } } : {}),
      { id: 'all', type: 'collect', is_intermediate: true, use_cache: true },
    ],
    [
      ['sizes', 'collection', 'each', 'collection'],
      ['each', 'item', 'tile', 'width'],
      ['tile', 'image', 'all', 'item'],
    ],
  );
}

/** A blank image that uses the invocation cache: the second identical run is a cache hit. */
export function cachedBlank(board?: string): Record<string, unknown> {
  return graph([blank('cached', { use_cache: true, ...(board ? { board: { board_id: board } } : {}) })]);
}

/** Fails: the input image does not exist. */
export function failing(): Record<string, unknown> {
  return graph([
    blank('first'),
    { id: 'broken', type: 'img_blur', image: { image_name: 'no-such-image.png' }, radius: 2, blur_type: 'gaussian', is_intermediate: false, use_cache: false },
  ]);
}

type EditorNode = Record<string, unknown>;

/** An invocation node of an editor export; `inputs` are field values (each becomes `{name, value}`). */
export function editorNode(id: string, type: string, inputs: Record<string, unknown> = {}, opts: { isIntermediate?: boolean; useCache?: boolean } = {}): EditorNode {
  return {
    id,
    type: 'invocation',
    position: { x: 0, y: 0 },
    data: {
      id,
      type,
      version: '1.0.0',
      label: '',
      notes: '',
      isOpen: true,
      isIntermediate: opts.isIntermediate ?? false,
      useCache: opts.useCache ?? false,
      nodePack: 'invokeai',
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, { name: k, label: '', description: '', value: v }])),
    },
  };
}

/** An editor export (`WorkflowWithoutID`) as the workflow library stores it; `exposed` are `[nodeId, fieldName]`. */
export function editorWorkflow(name: string, nodes: EditorNode[], links: Link[], exposed: [string, string][] = []): Record<string, unknown> {
  return {
    name,
    author: 'tests',
    description: '',
    version: '1.0.0',
    contact: '',
    tags: '',
    notes: '',
    exposedFields: exposed.map(([nodeId, fieldName]) => ({ nodeId, fieldName })),
    meta: { version: '3.0.0', category: 'user' },
    nodes,
    edges: links.map(([s, sf, d, df]) => ({ id: `${s}.${sf}-${d}.${df}`, type: 'default', source: s, sourceHandle: sf, target: d, targetHandle: df })),
    form: null,
  };
}

/**
 * A workflow `call_saved_workflow` can run (6.14+): an intermediate blank image of exposed width, saved by `out`
 * (to `board`, else uncategorized), returned under the key `image`.
 */
export function callableWorkflow(board?: string): Record<string, unknown> {
  return editorWorkflow(
    'callable',
    [
      editorNode('make', 'blank_image', { width: 64, height: 48, mode: 'RGB', color: { r: 1, g: 2, b: 3, a: 255 } }, { isIntermediate: true }),
      editorNode('out', 'save_image', { board: board ? { board_id: board } : 'none' }),
      editorNode('ret_image', 'workflow_return_value', { key: 'image' }),
      editorNode('ret', 'workflow_return'),
    ],
    [
      ['make', 'image', 'out', 'image'],
      ['out', 'image', 'ret_image', 'value'],
      ['ret_image', 'value', 'ret', 'values'],
    ],
    [['make', 'width']],
  );
}

/** Input name of a called workflow's exposed field on the `call_saved_workflow` node. */
export const savedInput = (nodeId: string, field: string): string => `saved_workflow_input::${nodeId}::${field}`;

/**
 * A graph that saves an image (`before`), calls the saved workflow (`call`, the child makes an image `width` wide),
 * takes the returned image (`get`) and blurs it (`after`, an image of its own): the parent resumes after its child.
 * `callLast`: the call is the graph's last node.
 */
export function callerGraph(workflowId: string, opts: { width?: number; board?: string; callLast?: boolean } = {}): Record<string, unknown> {
  const call = { id: 'call', type: 'call_saved_workflow', workflow_id: workflowId, workflow_inputs: { [savedInput('make', 'width')]: opts.width ?? 80 } };
  const before = blank('before', { width: 32, height: 32, ...(opts.board ? { board: { board_id: opts.board } } : {}) });
  if (opts.callLast) return graph([before, call]);
  return graph(
    [
      before,
      call,
      { id: 'get', type: 'workflow_return_get', key: 'image' },
      { id: 'after', type: 'img_blur', radius: 1, blur_type: 'gaussian', is_intermediate: false, use_cache: false, ...(opts.board ? { board: { board_id: opts.board } } : {}) },
    ],
    [
      ['call', 'values', 'get', 'values'],
      ['get', 'value', 'after', 'image'],
    ],
  );
}

/** A workflow that calls the saved workflow `innerId` and returns what it returned (a call two levels deep). */
export function forwardingWorkflow(innerId: string): Record<string, unknown> {
  return editorWorkflow(
    'forwarding',
    [
      editorNode('call', 'call_saved_workflow', { workflow_id: innerId }),
      editorNode('get', 'workflow_return_get', { key: 'image' }),
      editorNode('rv', 'workflow_return_value', { key: 'image' }),
      editorNode('ret', 'workflow_return'),
    ],
    [
      ['call', 'values', 'get', 'values'],
      ['get', 'value', 'rv', 'value'],
      ['rv', 'value', 'ret', 'values'],
    ],
  );
}
