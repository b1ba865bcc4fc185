import rawCatalog from './nodeCatalog.json';
import { clone, type Json, type JsonObject } from './json';
import type { ProfileSpec } from './profiles';

/** One input field of an invocation, in model (MRO) order; see scripts/gen-node-catalog.ts. */
export interface FieldSpec {
  /** Field name. */
  readonly n: string;
  /** Kind: i, n, s, b, a, o, *, `e:<Enum>`, `c:<const>`. */
  readonly k: string;
  /** Default; absent ⇒ pydantic requires the field. */
  readonly d?: Json;
  /** Nullable. */
  readonly z?: 1;
  /** Numeric constraints: ≥, ≤, >, <, multiple of. */
  readonly ge?: number;
  readonly le?: number;
  readonly gt?: number;
  readonly lt?: number;
  readonly mo?: number;
  /** Still null at run time ⇒ c: RequiredConnectionException, a: MissingInputException. */
  readonly r?: 'c' | 'a';
}

export interface InvocationSpec {
  /** Output type (`result.type`). */
  readonly o: string;
  readonly f: readonly FieldSpec[];
  /** Extra fields allowed (e.g. `core_metadata`). */
  readonly x?: 1;
}

interface RawCatalog {
  readonly model: JsonObject;
  readonly enums: Readonly<Record<string, readonly Json[]>>;
  readonly outputs: Readonly<Record<string, JsonObject>>;
  readonly invocations: Readonly<Record<string, InvocationSpec>>;
}

const catalog = rawCatalog as unknown as RawCatalog;

/**
 * Simulator-only node: saves an image (with its board) but returns a non-image output, like a custom node
 * that writes to the gallery without exposing the image. Only a board diff can find its image.
 */
export const HIDDEN_SAVE_TYPE = 'sim_hidden_save';

const extraInvocations: Record<string, InvocationSpec> = {
  [HIDDEN_SAVE_TYPE]: {
    o: 'integer_output',
    f: [
      { n: 'board', k: 'o', z: 1, d: null },
      { n: 'metadata', k: 'o', z: 1, d: null },
      { n: 'id', k: 's' },
      { n: 'is_intermediate', k: 'b', d: false },
      { n: 'use_cache', k: 'b', d: false },
      { n: 'width', k: 'i', d: 64 },
      { n: 'height', k: 'i', d: 64 },
      { n: 'type', k: `c:${HIDDEN_SAVE_TYPE}`, d: HIDDEN_SAVE_TYPE },
    ],
  },
};

export function getInvocation(type: string): InvocationSpec | undefined {
  if (Object.hasOwn(catalog.invocations, type)) return catalog.invocations[type];
  return Object.hasOwn(extraInvocations, type) ? extraInvocations[type] : undefined;
}

/** Saved-workflow call nodes: new in 6.14.0-rc1 (`call_saved_workflow.py`, `workflow_return.py`). */
export const CALL_SAVED_WORKFLOW = 'call_saved_workflow';

/**
 * Invocation types v6.14.0-rc1 has and v6.13.8 has not (their `@invocation` tags compared): saved-workflow calls, the
 * video nodes, Wan, Krea 2, Ideogram 4, Ernie image, the PID decoders.
 */
const NEW_IN_6_14: ReadonlySet<string> = new Set([
  'anima_lllite', 'call_saved_workflow', 'ernie_image_denoise', 'ernie_image_model_loader',
  'ernie_image_text_encoder', 'ernie_image_vae_decode', 'extract_video_range', 'flux2_pid_decode', 'flux_pid_decode',
  'gemma2_encoder_loader', 'ideogram4_caption_builder', 'ideogram4_denoise', 'ideogram4_l2i',
  'ideogram4_model_loader', 'ideogram4_text_encoder', 'krea2_conditioning_rebalance', 'krea2_denoise',
  'krea2_lora_collection_loader', 'krea2_lora_loader', 'krea2_model_loader', 'krea2_seed_variance',
  'krea2_text_encoder', 'pid_decoder_loader', 'pid_upscale', 'qwen_image_pid_decode', 'sd3_pid_decode',
  'sdxl_pid_decode', 'text_llm_with_preset', 'video', 'video_concat', 'video_frame_extract', 'wan_denoise',
  'wan_i2l', 'wan_i2v_ideal_dimensions', 'wan_l2i', 'wan_l2v', 'wan_lora_collection_loader', 'wan_lora_loader',
  'wan_model_loader', 'wan_ref_image_encoder', 'wan_text_encoder', 'wan_ti2v_ideal_dimensions', 'wan_video_denoise',
  'workflow_return', 'workflow_return_get', 'workflow_return_value', 'z_image_pid_decode',
]);

/** `call_saved_workflow` inputs fed by edges: `saved_workflow_input::<node id>::<field>` (any such name is accepted). */
export const SAVED_WORKFLOW_INPUT_PREFIX = 'saved_workflow_input::';

/** Whether the server generation knows a node type; unknown tags fail validation with a 422 like any unknown type. */
export function nodeTypeKnown(type: string, profile: ProfileSpec): boolean {
  return profile.nodes614 || !NEW_IN_6_14.has(type);
}

export function invocationTypes(): string[] {
  return [...Object.keys(catalog.invocations), ...Object.keys(extraInvocations)];
}

export function getOutputTemplate(type: string): JsonObject | undefined {
  return Object.hasOwn(catalog.outputs, type) ? catalog.outputs[type] : undefined;
}

export function getEnum(name: string): readonly Json[] | undefined {
  return Object.hasOwn(catalog.enums, name) ? catalog.enums[name] : undefined;
}

export function defaultModel(): JsonObject {
  return clone(catalog.model);
}

/** Output field names of an invocation type (for edge validation). */
export function outputFieldNames(type: string): string[] | undefined {
  const spec = getInvocation(type);
  const tpl = spec ? getOutputTemplate(spec.o) : undefined;
  return tpl ? Object.keys(tpl).filter((k) => k !== 'type') : undefined;
}
