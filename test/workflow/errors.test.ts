import fc from 'fast-check';

import { WorkflowError, formatPath, workflowToGraph } from '../../src/workflow';
import { edge, invocation, loadWorkflow, uiNode, workflow } from './support';

function errorOf(fn: () => unknown): WorkflowError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WorkflowError) return err;
    throw err;
  }
  throw new Error('expected a WorkflowError');
}

/** Two valid nodes and an edge, to be broken one part at a time. */
function base(): { nodes: Array<Record<string, unknown>>; edges: Array<Record<string, unknown>> } {
  return {
    nodes: [invocation('a', 'integer', { value: 1 }), uiNode('n', 'notes'), invocation('b', 'add', { a: 1, b: 2 }),
      invocation('s', 'save_image', { board: 'auto', image: undefined })],
    edges: [edge('a', 'value', 'b', 'a'), edge('a', 'value', 'b', 'b')],
  };
}

type Breaker = (wf: ReturnType<typeof base>) => unknown;
const dataOf = (node: Record<string, unknown> | undefined) => (node?.['data'] ?? {}) as Record<string, unknown>;
const inputsOf = (node: Record<string, unknown> | undefined) => dataOf(node)['inputs'] as Record<string, unknown>;

describe('malformed workflows name the bad part', () => {
  test.each<{ name: string; input: unknown; path: string; says: RegExp }>([
    { name: 'null', input: null, path: '', says: /expected object/ },
    { name: 'an array', input: [], path: '', says: /expected object/ },
    { name: 'no nodes', input: { edges: [] }, path: 'nodes', says: /expected array/ },
    { name: 'nodes keyed by id (a bare graph)', input: { nodes: {}, edges: [] }, path: 'nodes', says: /expected array/ },
    { name: 'edges not an array', input: { nodes: [], edges: 'x' }, path: 'edges', says: /expected array/ },
  ])('$name → "$path"', ({ input, path, says }) => {
    const err = errorOf(() => workflowToGraph(input));
    expect(err.path).toBe(path);
    expect(err.detail).toMatch(says);
  });

  test.each<{ name: string; breakIt: Breaker; path: string; says: RegExp }>([
    { name: 'node without id', breakIt: (w) => delete w.nodes[2]?.['id'], path: 'nodes[2].id', says: /expected string/ },
    { name: 'node type not a string', breakIt: (w) => (w.nodes[1] = { ...w.nodes[1], type: 7 }), path: 'nodes[1].type', says: /expected string/ },
    { name: 'invocation without data', breakIt: (w) => delete w.nodes[0]?.['data'], path: 'nodes[0].data', says: /expected object/ },
    { name: 'useCache not boolean', breakIt: (w) => (dataOf(w.nodes[2])['useCache'] = 'yes'), path: 'nodes[2].data.useCache', says: /expected boolean/ },
    { name: 'isIntermediate missing', breakIt: (w) => delete dataOf(w.nodes[0])['isIntermediate'], path: 'nodes[0].data.isIntermediate', says: /expected boolean/ },
    { name: 'inputs not an object', breakIt: (w) => (dataOf(w.nodes[0])['inputs'] = [1]), path: 'nodes[0].data.inputs', says: /expected record/ },
    { name: 'an input not an object', breakIt: (w) => (inputsOf(w.nodes[2])['b'] = 2), path: 'nodes[2].data.inputs.b', says: /expected object/ },
    { name: 'input key needing quotes', breakIt: (w) => (inputsOf(w.nodes[2])['a b'] = 2), path: 'nodes[2].data.inputs["a b"]', says: /expected object/ },
    { name: 'board of a WithBoard node', breakIt: (w) => (inputsOf(w.nodes[3])['board'] = { name: 'board', value: 42 }), path: 'nodes[3].data.inputs.board.value', says: /'auto', 'none' or \{"board_id"/ },
    { name: 'board_id empty', breakIt: (w) => (inputsOf(w.nodes[3])['board'] = { name: 'board', value: { board_id: '' } }), path: 'nodes[3].data.inputs.board.value', says: /board_id/ },
    { name: 'duplicate node id', breakIt: (w) => (w.nodes[2] = invocation('a', 'add')), path: 'nodes[2].id', says: /duplicate node id 'a' \(see nodes\[0\]\)/ },
    { name: 'data.id differs', breakIt: (w) => (dataOf(w.nodes[2])['id'] = 'zzz'), path: 'nodes[2].data.id', says: /differs from the node id 'b'/ },
    { name: 'edge without sourceHandle', breakIt: (w) => delete w.edges[1]?.['sourceHandle'], path: 'edges[1].sourceHandle', says: /needs a sourceHandle/ },
    { name: 'edge with empty targetHandle', breakIt: (w) => w.edges[0] && (w.edges[0]['targetHandle'] = ''), path: 'edges[0].targetHandle', says: /needs a targetHandle/ },
    { name: 'edge to a missing node', breakIt: (w) => w.edges[1] && (w.edges[1]['target'] = 'ghost'), path: 'edges[1].target', says: /unknown node 'ghost'/ },
    { name: 'edge from a missing node', breakIt: (w) => w.edges[0] && (w.edges[0]['source'] = 'ghost'), path: 'edges[0].source', says: /unknown node 'ghost'/ },
    { name: 'edge not an object', breakIt: (w) => (w.edges[1] = 'a->b' as unknown as Record<string, unknown>), path: 'edges[1]', says: /expected object/ },
  ])('$name → "$path"', ({ breakIt, path, says }) => {
    const wf = base();
    breakIt(wf);
    const err = errorOf(() => workflowToGraph(workflow(wf.nodes, wf.edges)));
    expect(err.path).toBe(path);
    expect(err.detail).toMatch(says);
    expect(err.message).toBe(`${path}: ${err.detail}`);
    expect(err.message).not.toMatch(/\n/);
    expect(err.code).toBe('BAD_INPUT');
  });

  test('the unbroken base converts (so each case above fails for its own reason)', () => {
    const wf = base();
    expect(Object.keys(workflowToGraph(workflow(wf.nodes, wf.edges)).nodes)).toEqual(['a', 'b', 's']);
  });

  test('several problems: the first is named, the rest counted', () => {
    const err = errorOf(() => workflowToGraph({ nodes: [{}, {}], edges: [] }));
    expect(err.path).toBe('nodes[0].id');
    expect(err.detail).toMatch(/\(\+3 more\)$/);
  });
});

describe('never anything but a WorkflowError', () => {
  const check = (input: unknown) => {
    try {
      workflowToGraph(input);
    } catch (err) {
      if (!(err instanceof WorkflowError)) throw err;
      expect(err.message).not.toMatch(/\n/);
    }
  };

  test('on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), check), { numRuns: 500 });
  });

  test('on a real export with one part replaced by arbitrary JSON or removed', () => {
    const original = loadWorkflow('sdxl-flux-refine');
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, path: Array<string | number>) => {
      if (path.length > 0) paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk({ nodes: original['nodes'], edges: original['edges'] }, []);

    const mutate = (index: number, replacement: unknown, remove: boolean): unknown => {
      const copy = structuredClone(original) as Record<string | number, unknown>;
      const path = paths[index] ?? [];
      let parent = copy;
      for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
      const last = path[path.length - 1] ?? 'nodes';
      if (remove) delete parent[last];
      else parent[last] = replacement;
      return copy;
    };
    fc.assert(
      fc.property(fc.nat(paths.length - 1), fc.jsonValue(), fc.boolean(), (i, v, remove) => check(mutate(i, v, remove))),
      { numRuns: 1000 },
    );
  });
});

describe('formatPath', () => {
  test.each<[Array<string | number>, string]>([
    [[], ''],
    [['nodes', 3, 'data', 'inputs', 'board'], 'nodes[3].data.inputs.board'],
    [['nodes', 'canvas_output:JbPTiAJ26r', 'id'], 'nodes["canvas_output:JbPTiAJ26r"].id'],
    [[0, 'x'], '[0].x'],
  ])('%j → %s', (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });
});
