import kinds from './outputKinds.json';

/*
 * What a node's type and output say about images (docs/protocol.md §4.1). Like the web UI, only top-level output
 * fields count: an ImageField or an array of them. Nested references (control images, adapters, values returned by
 * a called workflow) point at images made elsewhere.
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

const IMAGE_NODES: ReadonlySet<string> = new Set(kinds.imageNodeTypes);
const KNOWN_NODES: ReadonlySet<string> = new Set(kinds.knownNodeTypes);
const IMAGE_OUTPUTS: ReadonlySet<string> = new Set(kinds.imageOutputTypes);
const VIDEO_OUTPUTS: ReadonlySet<string> = new Set(kinds.videoOutputTypes);

/**
 * Could a node of this type have saved an image? `unknown` for types this build does not know (custom nodes, newer
 * servers): such a node is looked for in the image listings when its output is not known.
 */
export function imageCapability(nodeType: string | null): 'yes' | 'no' | 'unknown' {
  if (nodeType === null) return 'unknown';
  if (PASS_THROUGH_NODE_TYPES.has(nodeType)) return 'no';
  if (IMAGE_NODES.has(nodeType)) return 'yes';
  return KNOWN_NODES.has(nodeType) ? 'no' : 'unknown';
}

function imageNameOf(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const name = (v as { image_name?: unknown }).image_name;
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/** Image names in an output object, in field order, without repeats. */
export function imageNamesInResult(result: Readonly<Record<string, unknown>> | null | undefined): string[] {
  if (!result) return [];
  const out: string[] = [];
  const add = (v: unknown): void => {
    const n = imageNameOf(v);
    if (n !== null && !out.includes(n)) out.push(n);
  };
  for (const key of Object.keys(result)) {
    if (key === 'type' || key === 'output_meta') continue;
    const value = result[key];
    if (Array.isArray(value)) value.forEach(add);
    else add(value);
  }
  return out;
}

/**
 * What an output object says about a node's images: the names it returned, and whether those names can be trusted to
 * be all of them. An image-bearing output type without any name means the server stripped them (some generations
 * send events without names, docs/protocol.md §6.1): the names are then unknown, not absent.
 */
export function readResult(result: Readonly<Record<string, unknown>>): { names: string[]; namesKnown: boolean; video: boolean } {
  const names = imageNamesInResult(result);
  const type = typeof result['type'] === 'string' ? result['type'] : null;
  const video = type !== null && VIDEO_OUTPUTS.has(type);
  const namesKnown = names.length > 0 || type === null || !IMAGE_OUTPUTS.has(type);
  return { names, namesKnown, video };
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
