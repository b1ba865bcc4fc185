/*
 * Which values of a node's output are images it made (docs/protocol.md §4.1). Like the web UI, only top-level
 * fields count: an ImageField or an array of them. Nested references (control images, adapters, values returned
 * by a called workflow) point at images made elsewhere.
 */

/** Nodes that hand on an existing image instead of making one; their results are never outputs. */
export const PASS_THROUGH_NODE_TYPES: ReadonlySet<string> = new Set([
  'image',
  'load_image',
  'image_collection',
  'image_batch',
  'image_generator',
  'show_image',
  'pair_tile_image',
  'video',
  // Hands on a value returned by a called saved workflow (6.14+): its images belong to the child item.
  'workflow_return_get',
]);

function imageNameOf(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const name = (v as { image_name?: unknown }).image_name;
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/** Image names in an output object, in field order, without repeats. */
export function imageNamesInResult(result: Record<string, unknown> | null | undefined): string[] {
  if (!result) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key === 'type' || key === 'output_meta') continue;
    if (Array.isArray(value)) {
      for (const v of value) {
        const n = imageNameOf(v);
        if (n !== null && !out.includes(n)) out.push(n);
      }
    } else {
      const n = imageNameOf(value);
      if (n !== null && !out.includes(n)) out.push(n);
    }
  }
  return out;
}

/** The board a node asked for: its `board` input (`{board_id}`), `"none"` when it has none. */
export function requestedBoardOf(node: object | null | undefined): string {
  const b = (node as { board?: unknown } | null | undefined)?.board;
  if (typeof b === 'object' && b !== null) {
    const id = (b as { board_id?: unknown }).board_id;
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return 'none';
}
