import { InputError, InputIndex, withInputs, type InputRef } from '../../src/workflow/inputs';
import { workflowToGraph } from '../../src/workflow';
import { editorNode, editorWorkflow, graph } from '../support/graphs';
import { readFixture } from '../support/fixtures';

const FLUX = readFixture<Record<string, unknown>>('workflows/flux-image-to-image.json');
const REFINE = readFixture<Record<string, unknown>>('workflows/sdxl-flux-refine.json');
const SDXL = readFixture<Record<string, unknown>>('workflows/sdxl-text-to-image.json');

const ref = (target: string): InputRef => ({ flag: '--set', target });
const resolve = (doc: unknown, target: string) => InputIndex.of(doc).resolve(ref(target));
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('input targets of editor workflows', () => {
  it('NODE_ID.FIELD, a node label with .FIELD, and a form field label all name a field', () => {
    expect(resolve(FLUX, '9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps')).toMatchObject({ nodeId: '9c773392-5647-4f2b-958e-9da1707b6e6a', field: 'num_steps', nodeType: 'flux_denoise_meta', type: { kind: 'integer' } });
    expect(resolve(FLUX, 'Negative Prompt - FLUX.prompt')).toMatchObject({ nodeId: 'e87ba3b6-c98f-4644-903a-e13c421f2add', field: 'prompt', type: { kind: 'string' } });
    // `form` node-field elements: the prompt field is labelled "Positive Prompt" on its node.
    expect(resolve(FLUX, 'Positive Prompt')).toMatchObject({ nodeId: '01f674f8-b3d1-4df1-acac-6cb8e0bfb63c', field: 'prompt' });
    expect(resolve(SDXL, 'negative prompt')).toMatchObject({ nodeId: '484ecc77-b7a0-4e19-b793-cc313f20fbe6', field: 'value' });
    expect(resolve(SDXL, 'Positive Prompt.value')).toMatchObject({ nodeId: 'positive_prompt:kjUMdcg0zO', field: 'value' });
  });

  it('reads the older exposedFields too', () => {
    const wf = editorWorkflow('old', [{ ...editorNode('w', 'integer', { value: 3 }) }], [], [['w', 'value']]);
    (wf['nodes'] as { data: { inputs: { value: { label: string } } } }[])[0]!.data.inputs.value.label = 'Width';
    expect(resolve(wf, 'Width')).toMatchObject({ nodeId: 'w', field: 'value', type: { kind: 'integer' } });
    // A label that is not on the form is no target.
    expect(failure(() => resolve({ ...wf, exposedFields: [] }, 'Width'))).toMatch(/^--set Width: no node id, node label or form field label matches/);
  });

  it('a label of several fields is ambiguous, naming them all; a unique one among the nodes that have the field is not', () => {
    expect(failure(() => resolve(REFINE, 'Output Board'))).toBe(
      '--set "Output Board": ambiguous: 3 fields match (4414d4b5-82c3-4513-8c3f-86d88c24aadc.board, 67e997b2-2d56-43f4-8d2e-886c04e18d9f.board, abc466fe-12eb-48a5-87d8-488c8bda180f.board); name one as NODE_ID.FIELD',
    );
    expect(failure(() => resolve(REFINE, 'Noise Ratio'))).toMatch(/ambiguous: 2 fields match/);
    const wf = editorWorkflow('labels', [editorNode('a', 'integer', { value: 1 }), editorNode('b', 'string', { value: 'x' })], []);
    for (const n of wf['nodes'] as { data: { label: string } }[]) n.data.label = 'Same';
    expect(failure(() => resolve(wf, 'Same.value'))).toBe('--set Same.value: ambiguous: 2 fields match (a.value, b.value); name one as NODE_ID.FIELD');
  });

  it('unknown nodes and fields, connected fields and id/type are refused', () => {
    expect(failure(() => resolve(FLUX, 'nope.prompt'))).toMatch(/^--set nope\.prompt: no node id, node label or form field label matches/);
    expect(failure(() => resolve(FLUX, '9c773392-5647-4f2b-958e-9da1707b6e6a.steps'))).toBe('--set 9c773392-5647-4f2b-958e-9da1707b6e6a.steps: node 9c773392-5647-4f2b-958e-9da1707b6e6a (flux_denoise_meta) has no field "steps"');
    expect(failure(() => resolve(FLUX, 'Positive Prompt - FLUX.text'))).toMatch(/labelled "Positive Prompt - FLUX"\) has no field "text"/);
    expect(failure(() => resolve(FLUX, '2981a67c-480f-4237-9384-26b68dbf912b.image'))).toMatch(/\.image is fed by an edge from 7b056f05-a4fe-40d3-b913-1a4b3897230f\.image; only unconnected fields can be set$/);
    expect(failure(() => resolve(FLUX, '9c773392-5647-4f2b-958e-9da1707b6e6a.type'))).toMatch(/"type" of a node cannot be set/);
  });

  it('checks values against the node catalog: type, enum, bounds, nullability, the board picker', () => {
    const index = InputIndex.of(FLUX);
    const check = (target: string, value: unknown) => () => index.check(ref(target), index.resolve(ref(target)), value);
    expect(failure(check('9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps', 'ten'))).toBe(
      '--set 9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps: expected an integer (flux_denoise_meta.num_steps), got "ten"',
    );
    expect(failure(check('9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps', 2.5))).toMatch(/expected an integer/);
    expect(failure(check('Positive Prompt', 5))).toBe('--set "Positive Prompt": expected a string or null (flux_text_encoder.prompt), got 5');
    expect(failure(check('9c773392-5647-4f2b-958e-9da1707b6e6a.denoising_start', 1.5))).toMatch(/must be at most 1 \(flux_denoise_meta\.denoising_start\), got 1\.5$/);
    const sdxl = InputIndex.of(SDXL);
    expect(failure(() => sdxl.check(ref('noise:f4Bv4UWa22.width'), sdxl.resolve(ref('noise:f4Bv4UWa22.width')), 1001))).toMatch(/must be a multiple of 8 \(noise\.width\), got 1001$/);
    expect(failure(() => sdxl.check(ref('noise:f4Bv4UWa22.width'), sdxl.resolve(ref('noise:f4Bv4UWa22.width')), 0))).toMatch(/must be more than 0/);
    expect(failure(check('e87ba3b6-c98f-4644-903a-e13c421f2add.t5_max_seq_len', 300))).toMatch(/expected one of 256, 512 or null/);
    expect(failure(check('9c773392-5647-4f2b-958e-9da1707b6e6a.add_noise', null))).toMatch(/expected true or false \(/);
    expect(failure(check('7e5172eb-48c1-44db-a770-8fd83e1435d1.board', 'mine'))).toMatch(/expected "auto", "none" or \{"board_id": "<id>"\}/);
    for (const [target, value] of [
      ['9c773392-5647-4f2b-958e-9da1707b6e6a.num_steps', 30],
      ['9c773392-5647-4f2b-958e-9da1707b6e6a.denoising_start', 0.25],
      ['Positive Prompt', null],
      ['e87ba3b6-c98f-4644-903a-e13c421f2add.t5_max_seq_len', 512],
      ['7e5172eb-48c1-44db-a770-8fd83e1435d1.board', { board_id: 'b1' }],
      ['7e5172eb-48c1-44db-a770-8fd83e1435d1.board', 'auto'],
      ['9c773392-5647-4f2b-958e-9da1707b6e6a.use_cache', false],
    ] as const)
      expect(check(target, value)).not.toThrow();
  });

  it('withInputs sets input values (and node flags) on a copy; the conversion then carries them', () => {
    const index = InputIndex.of(FLUX);
    const values = [
      { input: index.resolve(ref('Positive Prompt')), value: 'a red fox' },
      { input: index.resolve(ref('7b056f05-a4fe-40d3-b913-1a4b3897230f.image')), value: { image_name: 'up.png' } },
      { input: index.resolve(ref('9c773392-5647-4f2b-958e-9da1707b6e6a.use_cache')), value: false },
    ];
    const before = JSON.stringify(FLUX);
    const changed = withInputs(FLUX, values);
    expect(JSON.stringify(FLUX)).toBe(before);
    const g = workflowToGraph(changed);
    expect(g.nodes['01f674f8-b3d1-4df1-acac-6cb8e0bfb63c']?.['prompt']).toBe('a red fox');
    expect(g.nodes['7b056f05-a4fe-40d3-b913-1a4b3897230f']?.['image']).toEqual({ image_name: 'up.png' });
    expect(g.nodes['9c773392-5647-4f2b-958e-9da1707b6e6a']?.use_cache).toBe(false);
    // Everything else is what the unchanged export converts to.
    const plain = workflowToGraph(FLUX);
    for (const [id, node] of Object.entries(plain.nodes)) {
      if (['01f674f8-b3d1-4df1-acac-6cb8e0bfb63c', '7b056f05-a4fe-40d3-b913-1a4b3897230f', '9c773392-5647-4f2b-958e-9da1707b6e6a'].includes(id)) continue;
      expect(g.nodes[id]).toEqual(node);
    }
    expect(g.edges).toEqual(plain.edges);
  });

  it('node ids and labels such as __proto__ and constructor are ordinary keys', () => {
    const wf = editorWorkflow('protos', [editorNode('__proto__', 'integer', { value: 1 }), editorNode('constructor', 'string', { value: 'a' }), editorNode('n', 'integer', { value: 2 })], []);
    const nodes = wf['nodes'] as { data: { label: string; inputs: Record<string, { label: string }> } }[];
    nodes[2]!.data.label = 'toString';
    nodes[1]!.data.inputs['value']!.label = 'hasOwnProperty';
    wf['form'] = { elements: { f: { id: 'f', type: 'node-field', data: { fieldIdentifier: { nodeId: 'constructor', fieldName: 'value' } } } } };
    const index = InputIndex.of(wf);
    const values = [
      { input: index.resolve(ref('__proto__.value')), value: 7 },
      { input: index.resolve(ref('hasOwnProperty')), value: 'b' },
      { input: index.resolve(ref('toString.value')), value: 9 },
    ];
    expect(values.map((v) => v.input.nodeId)).toEqual(['__proto__', 'constructor', 'n']);
    expect(failure(() => index.resolve(ref('valueOf.value')))).toMatch(/no node id, node label or form field label matches/);
    const g = workflowToGraph(withInputs(wf, values));
    expect(Object.keys(g.nodes)).toEqual(['__proto__', 'constructor', 'n']);
    expect(g.nodes['__proto__']?.['value']).toBe(7);
    expect(g.nodes['constructor']?.['value']).toBe('b');
    expect(g.nodes['n']?.['value']).toBe(9);
    expect(({} as Record<string, unknown>)['value']).toBeUndefined();
  });
});

describe('input targets of graphs', () => {
  const g = graph(
    [
      { id: 'img', type: 'image', image: { image_name: 'x.png' } },
      { id: 'blur', type: 'img_blur', radius: 2, blur_type: 'gaussian' },
      { id: '__proto__', type: 'my_custom_node', strength: 1 },
    ],
    [['img', 'image', 'blur', 'image']],
  );

  it('take NODE_ID.FIELD only, and check what the catalog knows', () => {
    const index = InputIndex.of(g);
    expect(index.resolve(ref('blur.radius'))).toMatchObject({ nodeId: 'blur', field: 'radius', nodeType: 'img_blur', type: { kind: 'number' } });
    // A field the node does not hold yet but its type has.
    expect(index.resolve(ref('blur.board'))).toMatchObject({ field: 'board' });
    expect(failure(() => index.resolve(ref('blur.sigma')))).toBe('--set blur.sigma: node blur (img_blur) has no field "sigma"');
    expect(failure(() => index.resolve(ref('ghost.radius')))).toBe('--set ghost.radius: no node "ghost" in the graph (a target is NODE_ID.FIELD)');
    expect(failure(() => index.resolve(ref('blur.image')))).toMatch(/blur\.image is fed by an edge from img\.image/);
    expect(failure(() => index.check(ref('blur.blur_type'), index.resolve(ref('blur.blur_type')), 'motion'))).toMatch(/expected one of "gaussian", "box" \(img_blur\.blur_type\), got "motion"$/);
  });

  it('a node type the catalog does not know takes any field, unchecked; withInputs leaves the argument alone', () => {
    const index = InputIndex.of(g);
    const custom = index.resolve(ref('__proto__.anything'));
    expect(custom).toMatchObject({ nodeId: '__proto__', nodeType: 'my_custom_node', type: undefined });
    const out = withInputs(g, [
      { input: custom, value: 'x' },
      { input: index.resolve(ref('img.image')), value: { image_name: 'up.png' } },
    ]) as { nodes: Record<string, Record<string, unknown>> };
    expect(out.nodes['__proto__']).toEqual({ id: '__proto__', type: 'my_custom_node', strength: 1, anything: 'x' });
    expect(out.nodes['img']?.['image']).toEqual({ image_name: 'up.png' });
    expect((g['nodes'] as Record<string, Record<string, unknown>>)['img']?.['image']).toEqual({ image_name: 'x.png' });
  });
});
