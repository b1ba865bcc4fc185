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
