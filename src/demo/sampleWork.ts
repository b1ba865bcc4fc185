/*
 * Sample work for `invokeai-outputs demo`: small graphs of real InvokeAI node types that need no models, so the
 * simulator (or a real server) can run them. Each shows one thing the records report.
 */

type Node = Record<string, unknown> & { id: string; type: string };
type Edge = { source: { node_id: string; field: string }; destination: { node_id: string; field: string } };

function graph(id: string, nodes: Node[], edges: [string, string, string, string][]): Record<string, unknown> {
  return {
    id,
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    edges: edges.map(([s, sf, d, df]): Edge => ({ source: { node_id: s, field: sf }, destination: { node_id: d, field: df } })),
  };
}

/** blank image → blur (intermediate) → save_image on a board: one output node, one image. */
export function saveToBoard(boardId: string): Record<string, unknown> {
  return graph(
    'demo-save-to-board',
    [
      { id: 'canvas', type: 'blank_image', width: 512, height: 384, mode: 'RGB', color: { r: 40, g: 90, b: 160, a: 255 }, is_intermediate: true, use_cache: false },
      { id: 'blur', type: 'img_blur', radius: 4, blur_type: 'gaussian', is_intermediate: true, use_cache: false },
      { id: 'output', type: 'save_image', board: { board_id: boardId }, is_intermediate: false, use_cache: false },
    ],
    [
      ['canvas', 'image', 'blur', 'image'],
      ['blur', 'image', 'output', 'image'],
    ],
  );
}

/** range → iterate → blank image: one workflow node, several executions, several images (uncategorized). */
export function iterateThree(): Record<string, unknown> {
  return graph(
    'demo-iterate',
    [
      { id: 'sizes', type: 'range', start: 256, stop: 512, step: 96, is_intermediate: true, use_cache: true },
      { id: 'each', type: 'iterate', is_intermediate: true, use_cache: true },
      { id: 'tile', type: 'blank_image', height: 256, mode: 'RGB', color: { r: 200, g: 120, b: 30, a: 255 }, is_intermediate: false, use_cache: false },
      { id: 'all', type: 'collect', is_intermediate: true, use_cache: true },
    ],
    [
      ['sizes', 'collection', 'each', 'collection'],
      ['each', 'item', 'tile', 'width'],
      ['tile', 'image', 'all', 'item'],
    ],
  );
}

/** An image that does not exist: the item fails, and its record says why. */
export function failing(): Record<string, unknown> {
  return graph(
    'demo-failing',
    [
      { id: 'missing', type: 'img_blur', image: { image_name: 'does-not-exist.png' }, radius: 2, blur_type: 'gaussian', is_intermediate: false, use_cache: false },
    ],
    [],
  );
}
