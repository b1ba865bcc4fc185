import type { JsonObject } from './json';

export interface SampleGraphOptions {
  /** Board of the output node (`l2i`); omitted ⇒ uncategorized. */
  boardId?: string;
  /** @default 'a lighthouse at dusk, high quality' */
  prompt?: string;
  /** @default 768 */
  width?: number;
  /** @default 1024 */
  height?: number;
}

const MODEL = {
  key: 'sim-sdxl-model',
  hash: 'blake3:0000000000000000000000000000000000000000000000000000000000000000',
  name: 'simulated-sdxl',
  base: 'sdxl',
  type: 'main',
};

/**
 * A text-to-image graph shaped like the editor's SDXL workflow (model loader → prompts → collect → denoise →
 * `l2i` with a board), for demos and smoke tests. Enqueue it as `{batch: {graph, runs}}`.
 */
export function sampleGraph(opts: SampleGraphOptions = {}): JsonObject {
  const prompt = opts.prompt ?? 'a lighthouse at dusk, high quality';
  const nodes: Record<string, JsonObject> = {
    model: { id: 'model', type: 'sdxl_model_loader', is_intermediate: true, model: MODEL },
    positive: { id: 'positive', type: 'sdxl_compel_prompt', is_intermediate: true, prompt, style: prompt },
    negative: { id: 'negative', type: 'sdxl_compel_prompt', is_intermediate: true, prompt: 'blurry', style: 'blurry' },
    positive_collect: { id: 'positive_collect', type: 'collect', is_intermediate: true },
    negative_collect: { id: 'negative_collect', type: 'collect', is_intermediate: true },
    seed: { id: 'seed', type: 'rand_int', is_intermediate: true, use_cache: false, low: 0, high: 2147483647 },
    noise: { id: 'noise', type: 'noise', is_intermediate: true, width: opts.width ?? 768, height: opts.height ?? 1024 },
    denoise: { id: 'denoise', type: 'denoise_latents', is_intermediate: true, steps: 30, cfg_scale: 7.5, scheduler: 'euler' },
    output: {
      id: 'output',
      type: 'l2i',
      is_intermediate: false,
      use_cache: false,
      ...(opts.boardId === undefined ? {} : { board: { board_id: opts.boardId } }),
    },
  };
  const e = (from: string, field: string, to: string, toField: string): JsonObject => ({
    source: { node_id: from, field },
    destination: { node_id: to, field: toField },
  });
  const edges = [
    e('model', 'clip', 'positive', 'clip'),
    e('model', 'clip2', 'positive', 'clip2'),
    e('model', 'clip', 'negative', 'clip'),
    e('model', 'clip2', 'negative', 'clip2'),
    e('positive', 'conditioning', 'positive_collect', 'item'),
    e('negative', 'conditioning', 'negative_collect', 'item'),
    e('positive_collect', 'collection', 'denoise', 'positive_conditioning'),
    e('negative_collect', 'collection', 'denoise', 'negative_conditioning'),
    e('model', 'unet', 'denoise', 'unet'),
    e('seed', 'value', 'noise', 'seed'),
    e('noise', 'noise', 'denoise', 'noise'),
    e('denoise', 'latents', 'output', 'latents'),
    e('model', 'vae', 'output', 'vae'),
  ];
  return { nodes, edges };
}
