import { WITH_BOARD_NODE_TYPES, WorkflowError, parseGraph, setGraphBoard } from '../../src/workflow';
import type { Graph } from '../../src/workflow';
import { UUID, loadCapture } from './support';

describe('WITH_BOARD_NODE_TYPES', () => {
  test('has the image-saving WithBoard nodes docs/protocol.md §4.2 names', () => {
    for (const type of ['save_image', 'l2i', 'flux_vae_decode', 'sd3_l2i', 'hed_edge_detection', 'canvas_paste_back',
      'esrgan', 'img_resize', 'pbr_maps', 'merge_tiles_to_image', 'openai_image_generation', 'spandrel_image_to_image']) {
      expect(WITH_BOARD_NODE_TYPES).toContain(type);
    }
  });

  test('leaves out the image-saving nodes that always save uncategorized', () => {
    for (const type of ['canvas_output', 'create_gradient_mask', 'face_mask_detection', 'face_off', 'heuristic_resize',
      'invokeai_img_dilate_erode']) {
      expect(WITH_BOARD_NODE_TYPES).not.toContain(type);
    }
  });
});

describe('setGraphBoard on a bare graph', () => {
  // A graph as a 6.3 server stores it: boards on some nodes, none on others (see groundTruth.test.ts).
  const graph = loadCapture('sdxl-flux-refine').session.graph;
  const before = structuredClone(graph);

  test('points every board-saving node at the board and touches nothing else', () => {
    const out = setGraphBoard(graph, 'b-new');
    for (const [id, node] of Object.entries(out.nodes)) {
      const original = graph.nodes[id];
      if (WITH_BOARD_NODE_TYPES.has(node.type)) expect(node).toEqual({ ...original, board: { board_id: 'b-new' } });
      else expect(node).toBe(original);
    }
    expect(Object.values(out.nodes).filter((n) => n.board !== undefined).map((n) => n.type).sort()).toEqual(
      ['flux_vae_decode', 'flux_vae_decode', 'hed_edge_detection', 'l2i', 'save_image', 'save_image', 'save_image'],
    );
    expect(out.edges).toBe(graph.edges);
    expect(out.id).toBe(graph.id);
    expect(graph).toEqual(before);
  });

  test('"none" removes the boards (uncategorized)', () => {
    const out = setGraphBoard(graph, 'none');
    expect(Object.values(out.nodes).filter((n) => 'board' in n)).toEqual([]);
    expect(graph).toEqual(before);
  });

  test('custom nodes are recognised by their board key; an edge-fed board is left to the edge', () => {
    const custom: Graph = {
      id: 'g',
      nodes: {
        mine: { id: 'mine', type: 'my_saver', board: { board_id: 'old' } },
        other: { id: 'other', type: 'my_math', value: 1 },
        fed: { id: 'fed', type: 'save_image' },
        pick: { id: 'pick', type: 'board_picker' },
      },
      edges: [{ source: { node_id: 'pick', field: 'board' }, destination: { node_id: 'fed', field: 'board' } }],
    };
    const out = setGraphBoard(custom, 'b2');
    expect(out.nodes['mine']).toEqual({ id: 'mine', type: 'my_saver', board: { board_id: 'b2' } });
    expect(out.nodes['other']).toEqual({ id: 'other', type: 'my_math', value: 1 });
    expect(out.nodes['fed']).toEqual({ id: 'fed', type: 'save_image' });
  });
});

describe('parseGraph', () => {
  test('accepts a stored session graph as it is', () => {
    const graph = loadCapture('sdxl-text-to-image').session.graph;
    expect(parseGraph(graph)).toEqual(graph);
  });

  test('gives a graph without id a fresh one', () => {
    expect(parseGraph({ nodes: {}, edges: [] }).id).toMatch(UUID);
  });

  test.each<{ name: string; input: unknown; path: string }>([
    { name: 'not an object', input: 'graph', path: '' },
    { name: 'nodes as an array (an editor export)', input: { nodes: [], edges: [] }, path: 'nodes' },
    { name: 'node without type', input: { nodes: { a: { id: 'a' } } }, path: 'nodes.a.type' },
    { name: 'key differs from id', input: { nodes: { 'x:1': { id: 'y', type: 't' } } }, path: 'nodes["x:1"].id' },
    {
      name: 'edge to a missing node',
      input: { nodes: { a: { id: 'a', type: 't' } }, edges: [{ source: { node_id: 'a', field: 'v' }, destination: { node_id: 'b', field: 'v' } }] },
      path: 'edges[0].destination.node_id',
    },
  ])('$name → "$path"', ({ input, path }) => {
    expect(() => parseGraph(input)).toThrow(WorkflowError);
    expect(() => parseGraph(input)).toThrow(expect.objectContaining({ path }) as Error);
  });
});
