import { isDeepStrictEqual } from 'node:util';

import { workflowToGraph } from '../../src/workflow';
import type { Graph, GraphNode, WorkflowToGraphOptions } from '../../src/workflow';
import { UUID, edgeSet, loadCapture, loadWorkflow } from './support';

/*
 * The captured `session.graph` is what the 6.3 server *stored*, not the request body: the server parsed each
 * node into its pydantic model and the GET route dumps it with `response_model_exclude_none=True`
 * (docs/protocol.md §5.2). That adds exactly two kinds of difference, both tolerated below and nothing else:
 *  1. Fields the editor left out get the model's default written in. Only allowed when the value equals the
 *     default in data/invokeai-openapi-v6.3.json AND the editor had a reason to leave the field out: it is fed
 *     by an edge, or it is a UI-hidden input that never appears in an export (`collect.collection`).
 *  2. `null` values are dropped, so a `null` we send may be missing there (none occur in these captures).
 */
const SERVER_DEFAULTS_6_3: Record<string, Record<string, { value: unknown; hidden?: true }>> = {
  // NoiseInvocation
  noise: { seed: { value: 0 }, width: { value: 512 }, height: { value: 512 } },
  // FluxDenoiseLatentsMetaInvocation
  flux_denoise_meta: {
    seed: { value: 0 }, width: { value: 1024 }, height: { value: 1024 }, denoising_start: { value: 0 },
  },
  // SDXLCompelPromptInvocation
  sdxl_compel_prompt: { prompt: { value: '' }, style: { value: '' } },
  // StringJoinThreeInvocation
  string_join_three: { string_left: { value: '' } },
  // FloatToIntegerInvocation
  float_to_int: { value: { value: 0 } },
  // CollectInvocation: `collection` is ui_hidden, so the editor export has no such input at all.
  collect: { collection: { value: [], hidden: true } },
};

/*
 * Each capture was run with whatever the editor's auto-add board was at the time. Its `board` inputs tell:
 * in sdxl-flux-refine the nodes left at "auto" were sent with board abf4afa1-…, in the other two the "auto"
 * (or unset) boards were sent without a board, i.e. auto-add was "none".
 */
const CASES: Array<{ name: string; opts: WorkflowToGraphOptions }> = [
  { name: 'flux-image-to-image', opts: {} },
  { name: 'sdxl-flux-refine', opts: { autoAddBoardId: 'abf4afa1-5797-48a0-8e4c-f072b51f2151' } },
  { name: 'sdxl-text-to-image', opts: {} },
];

/** The captured node with the server's additions (see the top comment) taken back out, and their names. */
function asSent(captured: GraphNode, mine: GraphNode, fedFields: ReadonlySet<string>): { node: GraphNode; added: string[] } {
  const node: GraphNode = { ...captured };
  const added: string[] = [];
  for (const [field, value] of Object.entries(captured)) {
    if (Object.hasOwn(mine, field)) continue;
    const dflt = SERVER_DEFAULTS_6_3[captured.type]?.[field];
    if (dflt && isDeepStrictEqual(dflt.value, value) && (fedFields.has(field) || dflt.hidden)) {
      delete node[field];
      added.push(`${captured.type}.${field}`);
    }
  }
  return { node, added };
}

function fedFieldsOf(graph: Graph, id: string): Set<string> {
  return new Set(graph.edges.filter((e) => e.destination.node_id === id).map((e) => e.destination.field));
}

function withoutNulls(node: GraphNode): GraphNode {
  return Object.fromEntries(Object.entries(node).filter(([, v]) => v !== null)) as GraphNode;
}

describe.each(CASES)('$name: converted export equals the graph the editor enqueued', ({ name, opts }) => {
  const captured = loadCapture(name).session.graph;
  const graph = workflowToGraph(loadWorkflow(name), opts);

  test('has the same node ids, and a fresh graph id', () => {
    expect(Object.keys(graph.nodes).sort()).toEqual(Object.keys(captured.nodes).sort());
    expect(graph.id).toMatch(UUID);
    expect(graph.id).not.toBe(captured.id);
  });

  test('has the same edges, as a set and without duplicates', () => {
    expect(edgeSet(graph.edges)).toEqual(edgeSet(captured.edges));
    expect(new Set(edgeSet(graph.edges)).size).toBe(graph.edges.length);
  });

  test.each(Object.keys(captured.nodes))('node %s: type, flags and inputs', (id) => {
    const mine = graph.nodes[id];
    const theirs = captured.nodes[id];
    if (!mine || !theirs) throw new Error(`node ${id} missing`);
    expect(withoutNulls(mine)).toEqual(asSent(theirs, mine, fedFieldsOf(graph, id)).node);
    // The four fields the task singles out, spelled out so a failure names them.
    expect([mine.type, mine.is_intermediate, mine.use_cache]).toEqual([theirs.type, theirs.is_intermediate, theirs.use_cache]);
  });

  test('the workflow stored with the queue item converts to the same graph as the export', () => {
    // The editor sent the export minus `id`/`is_published` (library metadata); nothing graph-relevant differs.
    const fromItem = workflowToGraph(loadCapture(name).workflow, opts);
    expect({ ...fromItem, id: graph.id }).toEqual(graph);
  });
});

test('every tolerated server default was actually needed (the exception table has no dead entries)', () => {
  const usedDefaults = new Set<string>();
  for (const { name, opts } of CASES) {
    const graph = workflowToGraph(loadWorkflow(name), opts);
    for (const [id, theirs] of Object.entries(loadCapture(name).session.graph.nodes)) {
      const mine = graph.nodes[id];
      if (mine) asSent(theirs, mine, fedFieldsOf(graph, id)).added.forEach((f) => usedDefaults.add(f));
    }
  }
  const table = Object.entries(SERVER_DEFAULTS_6_3).flatMap(([type, fields]) => Object.keys(fields).map((f) => `${type}.${f}`));
  expect([...usedDefaults].sort()).toEqual(table.sort());
});

test('without the auto-add board, the "auto" boards of sdxl-flux-refine are left out, explicit ones kept', () => {
  const graph = workflowToGraph(loadWorkflow('sdxl-flux-refine'));
  const boards = Object.values(graph.nodes).filter((n) => 'board' in n).map((n) => [n.type, n.board]);
  expect(boards).toEqual([
    ['save_image', { board_id: 'a17c2b12-d25a-4e41-9217-d94a543b9e73' }],
    ['save_image', { board_id: 'a17c2b12-d25a-4e41-9217-d94a543b9e73' }],
  ]);
});

describe.each(['example-nodes', 'flux-image-to-image', 'sdxl-flux-refine', 'sdxl-text-to-image'])(
  '%s: form and exposed fields only point at node inputs',
  (name) => {
    // So there is no second place a value could hide: an export keeps every value in nodes[].data.inputs.
    const wf = loadWorkflow(name) as {
      nodes: Array<{ id: string; data: { inputs?: Record<string, unknown> } }>;
      exposedFields: Array<{ nodeId: string; fieldName: string }>;
      form?: { elements?: Record<string, { type: string; data?: Record<string, unknown> }> };
    };
    const inputsOf = (nodeId: string) => Object.keys(wf.nodes.find((n) => n.id === nodeId)?.data.inputs ?? {});

    test('form node-fields', () => {
      for (const el of Object.values(wf.form?.elements ?? {})) {
        if (el.type !== 'node-field') continue;
        const { fieldIdentifier, ...rest } = el.data as { fieldIdentifier: { nodeId: string; fieldName: string } };
        expect(inputsOf(fieldIdentifier.nodeId)).toContain(fieldIdentifier.fieldName);
        expect(rest).not.toHaveProperty('value');
      }
    });

    test('exposedFields', () => {
      for (const f of wf.exposedFields) expect(inputsOf(f.nodeId)).toContain(f.fieldName);
    });
  },
);
