import type { Graph, GraphNode } from './graph';

/**
 * Node types whose invocation class mixes in `WithBoard`, i.e. has a `board` input that decides where the
 * images it saves go (docs/protocol.md §4.2). Taken from the OpenAPI schemas of InvokeAI 6.3, 6.8 and HEAD
 * (every invocation schema with a `board` property, all of them `BoardField | null`). Custom nodes are not
 * listed; they are recognised by the `board` key they carry.
 */
export const WITH_BOARD_NODE_TYPES: ReadonlySet<string> = new Set([
  'alibabacloud_image_generation', 'anima_i2l', 'anima_l2i', 'apply_mask_to_image', 'apply_tensor_mask_to_image',
  'blank_image', 'canny_edge_detection', 'canvas_paste_back', 'canvas_v2_mask_and_crop', 'cogview4_denoise',
  'cogview4_i2l', 'cogview4_l2i', 'color_correct', 'color_map', 'content_shuffle', 'crop_image_to_bounding_box',
  'cv_inpaint', 'depth_anything_depth_estimation', 'dw_openpose_detection', 'ernie_image_vae_decode', 'esrgan',
  'expand_mask_with_fade', 'extract_video_range', 'face_identifier', 'flux2_pid_decode', 'flux2_vae_decode',
  'flux_kontext_image_prep', 'flux_pid_decode', 'flux_vae_decode', 'gemini_image_generation', 'hed_edge_detection',
  'ideogram4_l2i', 'img_blur', 'img_chan', 'img_channel_multiply', 'img_channel_offset', 'img_conv', 'img_crop',
  'img_hue_adjust', 'img_hue_adjust_oklch', 'img_ilerp', 'img_lerp', 'img_mul', 'img_noise', 'img_nsfw', 'img_paste',
  'img_resize', 'img_scale', 'img_watermark', 'infill_cv2', 'infill_lama', 'infill_patchmatch', 'infill_rgba',
  'infill_tile', 'invokeai_ealightness', 'invokeai_img_blend', 'invokeai_img_composite', 'invokeai_img_enhance',
  'invokeai_img_hue_adjust_plus', 'invokeai_img_val_thresholds', 'krea2_denoise', 'l2i',
  'lineart_anime_edge_detection', 'lineart_edge_detection', 'mask_combine', 'mask_edge', 'mask_from_id',
  'mediapipe_face_detection', 'merge_tiles_to_image', 'mlsd_detection', 'normal_map', 'openai_image_generation',
  'paste_image_into_bounding_box', 'pbr_maps', 'pid_upscale', 'pidi_edge_detection', 'qwen_image_denoise',
  'qwen_image_i2l', 'qwen_image_l2i', 'qwen_image_pid_decode', 'save_image', 'save_image_to_file', 'sd3_denoise',
  'sd3_i2l', 'sd3_l2i', 'sd3_pid_decode', 'sdxl_pid_decode', 'seedream_image_generation', 'spandrel_image_to_image',
  'spandrel_image_to_image_autoscale', 'tensor_mask_to_image', 'tomask', 'unsharp_mask', 'unsharp_mask_oklab',
  'video_concat', 'video_frame_extract', 'wan_i2l', 'wan_l2i', 'wan_l2v', 'z_image_i2l', 'z_image_l2i',
  'z_image_pid_decode',
]);

/** The board value InvokeAI accepts on a node: `{board_id}`; absence means "uncategorized". */
export interface BoardField {
  board_id: string;
}

/** Spelling of "no board / uncategorized" in InvokeAI's API paths and in the editor's board picker. */
export const NO_BOARD = 'none';

/** Whether a node of this type, with these fields, saves its images to a board. */
export function savesToBoard(type: string, fields: object): boolean {
  return Object.hasOwn(fields, 'board') || WITH_BOARD_NODE_TYPES.has(type);
}

/** Returns a copy of `node` with its board set to `boardId`, or removed when `boardId` is `'none'`. */
export function withBoard(node: GraphNode, boardId: string): GraphNode {
  const { board: _old, ...rest } = node;
  if (boardId === NO_BOARD) return rest;
  const board: BoardField = { board_id: boardId };
  return { ...rest, board };
}

/**
 * Points every board-saving node of a graph at one board: nodes whose type is in
 * {@link WITH_BOARD_NODE_TYPES} or that already carry a `board` key. A `board` fed by an edge is left alone,
 * since the edge wins on the server. Returns a new graph; the argument is not modified.
 *
 * @param boardId a board id, or `'none'` to save uncategorized (the `board` key is removed).
 */
export function setGraphBoard(graph: Graph, boardId: string): Graph {
  const fedBoards = new Set(
    graph.edges.filter((e) => e.destination.field === 'board').map((e) => e.destination.node_id),
  );
  const nodes = Object.fromEntries(
    Object.entries(graph.nodes).map(([key, node]) => [
      key,
      savesToBoard(node.type, node) && !fedBoards.has(key) ? withBoard(node, boardId) : node,
    ]),
  );
  return { ...graph, nodes };
}
