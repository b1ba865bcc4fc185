import { defaultModel, getEnum, getOutputTemplate, HIDDEN_SAVE_TYPE, type InvocationSpec } from './catalog';
import { uuid } from './clock';
import type { NodeJson } from './graph';
import type { ImageCategory, ImageRecord } from './images';
import { clone, isJsonObject, type Json, type JsonObject } from './json';
import { boardFor, NodeError, type NodeEnv, type Size } from './nodeEnv';
import { isVideoRef, runVideoNode, type VideoRef } from './videoNodes';

export { NodeError, type NodeEnv, type Size } from './nodeEnv';

/** Nodes that return an existing image instead of making one (docs/protocol.md §4.1). */
export const PASS_THROUGH = new Set(['image', 'image_collection', 'image_batch', 'image_generator', 'show_image', 'pair_tile_image', 'load_image']);

const DEFAULT_SIZE: Size = { width: 512, height: 512 };

/** Nodes that report per-step progress (and stop at a step when canceled). */
export function isDenoiseLike(type: string): boolean {
  return type.includes('denoise') && !type.includes('mask');
}

function isImageField(v: Json | undefined): v is { image_name: string } {
  return isJsonObject(v) && typeof v['image_name'] === 'string';
}

function isModelIdentifier(v: Json | undefined): v is JsonObject {
  return isJsonObject(v) && ['key', 'hash', 'name', 'base', 'type'].every((k) => typeof v[k] === 'string');
}

export interface NodeRun {
  output: JsonObject;
  /** Images this execution created (not pass-throughs). */
  created: ImageRecord[];
}

/** `invoke_internal`'s checks: required inputs present, input images exist; returns the input images. */
function checkInputs(inv: NodeJson, spec: InvocationSpec, env: NodeEnv): ImageRecord[] {
  for (const f of spec.f) {
    if (!f.r || inv[f.n] !== null) continue;
    // invoke_internal's check for fields optional in the schema but required by invoke() (baseinvocation.py).
    if (f.r === 'c') throw new NodeError('RequiredConnectionException', `Node ${inv.type} missing connections for field ${f.n}`);
    throw new NodeError('MissingInputException', `Node ${inv.type} missing value or connection for field ${f.n}`);
  }
  const inputImages: ImageRecord[] = [];
  for (const [k, v] of Object.entries(inv)) {
    if (k === 'metadata' || k === 'board') continue;
    const videos: VideoRef[] = isVideoRef(v) ? [v] : Array.isArray(v) ? v.filter(isVideoRef) : [];
    if (videos.some((ref) => !env.videos.get(ref.video_name))) throw new NodeError('VideoRecordNotFoundException', 'Video record not found');
    const refs = isImageField(v) ? [v] : Array.isArray(v) ? v.filter(isImageField) : [];
    for (const ref of refs) {
      const rec = env.images.get(ref.image_name);
      if (!rec) throw new NodeError('ImageFileNotFoundException', `Image file not found: ${ref.image_name}`);
      inputImages.push(rec);
    }
  }
  return inputImages;
}

/** What building an output needs to know about the node run. */
interface OutputEnv extends MarkerEnv {
  readonly inv: NodeJson;
  readonly passThrough: boolean;
  readonly save: (category: ImageCategory) => { image_name: string };
}

/** One output field from its catalog template: images saved or passed through, primitives echoed, markers resolved. */
function outputField(k: string, t: Json, o: OutputEnv): Json {
  const { inv } = o;
  if (t === '@image') return o.passThrough ? (o.firstInputImage ?? { image_name: '' }) : o.save(k === 'mask' ? 'mask' : 'general');
  if (t === '@images') {
    if (o.passThrough) return imageListInput(inv);
    const n = typeof inv['num_images'] === 'number' && inv['num_images'] >= 1 ? Math.floor(inv['num_images']) : 1;
    return Array.from({ length: n }, () => o.save('general'));
  }
  const v = inv[k];
  const primitive = (x: Json | undefined): boolean => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  const sameKind = typeof v === typeof t && (primitive(v) || (Array.isArray(v) && Array.isArray(t) && v.every(primitive)));
  return v !== undefined && v !== null && sameKind ? clone(v) : resolveMarkers(t, k, o);
}

/**
 * Runs one prepared node: checks its inputs like `invoke_internal`, then builds a plausible output of the
 * right `type` with every field of the output schema. Values flow: primitives pass through by name, image
 * nodes save images, model loaders echo their model, tensors get fresh names.
 */
export function runNode(inv: NodeJson, spec: InvocationSpec, env: NodeEnv): NodeRun {
  const inputImages = checkInputs(inv, spec, env);
  const size = sizeOf(inv, inputImages, env);
  const created: ImageRecord[] = [];
  const save = (category: ImageCategory): { image_name: string } => {
    const r = saveImage(inv, spec, env, size ?? DEFAULT_SIZE, category);
    created.push(r);
    return { image_name: r.name };
  };
  if (inv.type === HIDDEN_SAVE_TYPE) {
    save('general');
    return { output: { value: created.length, type: 'integer_output' }, created };
  }
  const video = runVideoNode(inv, spec, env, size);
  if (video) return { output: video, created };
  const tpl = clone(getOutputTemplate(spec.o) ?? { type: spec.o });
  const o: OutputEnv = { inv, passThrough: PASS_THROUGH.has(inv.type), save, model: Object.values(inv).find(isModelIdentifier), firstInputImage: firstImageInput(inv), size, env };
  const out: JsonObject = {};
  let imageSize: Size | undefined;
  for (const [k, t] of Object.entries(tpl)) {
    out[k] = k === 'type' ? t : outputField(k, t, o);
    const rec = t === '@image' ? env.images.get((out[k] as { image_name: string }).image_name) : undefined;
    if (rec && !imageSize) imageSize = { width: rec.width, height: rec.height };
  }
  const dims = imageSize ?? size;
  if (dims) {
    if (typeof out['width'] === 'number') out['width'] = dims.width;
    if (typeof out['height'] === 'number') out['height'] = dims.height;
  }
  special(inv.type, inv, out);
  return { output: out, created };
}

/** Python's round(): halves go to the even neighbour (what `round`/`np.round` do in the real nodes). */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (Math.abs(d - 0.5) < 1e-12) return f % 2 === 0 ? f : f + 1;
  return Math.round(x);
}

function num(v: Json | undefined, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** Nodes whose value matters downstream (sizes computed by math nodes feed noise and decoders). */
const SPECIAL: ReadonlyMap<string, (inv: NodeJson, out: JsonObject) => void> = new Map<string, (inv: NodeJson, out: JsonObject) => void>([
  ['rand_int', (inv, out) => void (out['value'] = num(inv['low']) + Math.floor(Math.random() * Math.max(1, num(inv['high'], 2147483647) - num(inv['low']))))],
  ['rand_float', (inv, out) => void (out['value'] = num(inv['low']) + Math.random() * (num(inv['high'], 1) - num(inv['low'])))],
  ['add', (inv, out) => void (out['value'] = num(inv['a']) + num(inv['b']))],
  ['sub', (inv, out) => void (out['value'] = num(inv['a']) - num(inv['b']))],
  ['mul', (inv, out) => void (out['value'] = num(inv['a']) * num(inv['b']))],
  ['div', (inv, out) => void (out['value'] = num(inv['b']) === 0 ? 0 : Math.trunc(num(inv['a']) / num(inv['b'])))],
  ['float_math', (inv, out) => math(inv, out, false)],
  ['integer_math', (inv, out) => math(inv, out, true)],
  ['float_to_int', floatToInt],
  ['round_float', (inv, out) => void (out['value'] = pyRound(num(inv['value']) * 10 ** num(inv['decimals'])) / 10 ** num(inv['decimals']))],
  ['range', range],
  ['range_of_size', (inv, out) => void (out['collection'] = Array.from({ length: Math.max(0, Math.min(10_000, num(inv['size'], 1))) }, (_, i) => num(inv['start']) + i * num(inv['step'], 1)))],
  ['string_join', (inv, out) => void (out['value'] = str(inv['string_left']) + str(inv['string_right']))],
  ['string_join_three', (inv, out) => void (out['value'] = str(inv['string_left']) + str(inv['string_middle']) + str(inv['string_right']))],
]);

function special(type: string, inv: NodeJson, out: JsonObject): void {
  SPECIAL.get(type)?.(inv, out);
}

/** `float_math` / `integer_math`; an unknown operation or a non-finite result leaves the echoed value. */
function math(inv: NodeJson, out: JsonObject, integer: boolean): void {
  const a = num(inv['a']);
  const b = num(inv['b']);
  const ops = new Map<string, () => number>([
    ['ADD', () => a + b],
    ['SUB', () => a - b],
    ['MUL', () => a * b],
    ['DIV', () => (b === 0 ? 0 : integer ? Math.trunc(a / b) : a / b)],
    ['EXP', () => a ** b],
    ['MOD', () => (b === 0 ? 0 : a % b)],
    ['ABS', () => Math.abs(a)],
    ['SQRT', () => Math.sqrt(Math.abs(a))],
    ['MIN', () => Math.min(a, b)],
    ['MAX', () => Math.max(a, b)],
  ]);
  const v = ops.get(str(inv['operation']))?.();
  if (v !== undefined && Number.isFinite(v)) out['value'] = integer ? Math.trunc(v) : v;
}

function floatToInt(inv: NodeJson, out: JsonObject): void {
  const m = num(inv['multiple'], 8) || 1;
  const x = num(inv['value']) / m;
  const method = str(inv['method']);
  const q = method === 'Floor' ? Math.floor(x) : method === 'Ceiling' ? Math.ceil(x) : method === 'Truncate' ? Math.trunc(x) : pyRound(x);
  out['value'] = q * m;
}

/** Python's range(start, stop, step); collections feed `iterate`, so their length matters. */
function range(inv: NodeJson, out: JsonObject): void {
  const step = num(inv['step'], 1) || 1;
  const values: number[] = [];
  for (let v = num(inv['start']); step > 0 ? v < num(inv['stop'], 10) : v > num(inv['stop'], 10); v += step) {
    values.push(v);
    if (values.length >= 10_000) break;
  }
  out['collection'] = values;
}

function firstImageInput(inv: NodeJson): { image_name: string } | undefined {
  if (isImageField(inv['image'])) return { image_name: inv['image'].image_name };
  for (const [k, v] of Object.entries(inv)) {
    if (k === 'metadata' || k === 'board') continue;
    if (isImageField(v)) return { image_name: v.image_name };
    if (Array.isArray(v)) {
      const first = v.find(isImageField);
      if (first) return { image_name: first.image_name };
    }
  }
  return undefined;
}

function imageListInput(inv: NodeJson): Json[] {
  for (const k of ['collection', 'images']) {
    const v = inv[k];
    if (Array.isArray(v)) return v.filter(isImageField).map((x) => ({ image_name: x.image_name }));
  }
  const one = firstImageInput(inv);
  return one ? [one] : [];
}

/** The size a node works at: explicit width/height, else its input image, else its input tensor. */
function sizeOf(inv: NodeJson, inputImages: ImageRecord[], env: NodeEnv): Size | undefined {
  const w = inv['width'];
  const h = inv['height'];
  if (typeof w === 'number' && typeof h === 'number' && w > 0 && h > 0) return { width: Math.round(w), height: Math.round(h) };
  const img = inputImages[0];
  if (img) return { width: img.width, height: img.height };
  const video = Object.values(inv).find((v): v is JsonObject & VideoRef => isVideoRef(v));
  const rec = video ? env.videos.get(video.video_name) : undefined;
  if (rec) return { width: rec.width, height: rec.height };
  for (const v of Object.values(inv)) {
    if (!isJsonObject(v)) continue;
    for (const k of ['latents_name', 'tensor_name']) {
      const name = v[k];
      const s = typeof name === 'string' ? env.tensorSizes.get(name) : undefined;
      if (s) return s;
    }
  }
  return undefined;
}

const SUBMODELS = new Set((getEnum('SubModelType') ?? []).filter((x): x is string => typeof x === 'string'));
const NAME_PREFIXES = ['Tensor', 'ConditioningFieldData', 'Video'];

interface MarkerEnv {
  model: JsonObject | undefined;
  firstInputImage: { image_name: string } | undefined;
  size: Size | undefined;
  env: NodeEnv;
}

/** Replaces catalog markers: `@model:<submodel>`, `@name:<prefix>`, nested `@image` (a reference). */
function resolveMarkers(t: Json, key: string, m: MarkerEnv): Json {
  if (typeof t === 'string') {
    if (t.startsWith('@model:')) {
      const sub = t.slice('@model:'.length);
      return { ...(m.model ? clone(m.model) : defaultModel()), submodel_type: SUBMODELS.has(sub) ? sub : null };
    }
    if (t.startsWith('@name:')) {
      const prefix = t.slice('@name:'.length);
      const name = `${NAME_PREFIXES.includes(prefix) ? prefix : 'Tensor'}_${uuid()}`;
      if (m.size) m.env.tensorSizes.set(name, m.size);
      return name;
    }
    if (t === '@image') return m.firstInputImage ? { ...m.firstInputImage } : { image_name: '' };
    if (t === '@images') return m.firstInputImage ? [{ ...m.firstInputImage }] : [];
    return t;
  }
  if (Array.isArray(t)) return t.map((x) => resolveMarkers(x, key, m));
  if (isJsonObject(t)) {
    const o: JsonObject = {};
    for (const [k, v] of Object.entries(t)) o[k] = resolveMarkers(v, k, m);
    return o;
  }
  return t;
}

/**
 * `context.images.save`: board from the node's own `board` if it is a WithBoard node; a board that does not
 * exist leaves the image uncategorized with only a warning (docs/protocol.md §4.2).
 */
function saveImage(inv: NodeJson, spec: InvocationSpec, env: NodeEnv, size: Size, category: ImageCategory): ImageRecord {
  const boardId = boardFor(inv, spec, env, 'image');
  return env.images.add({
    width: size.width,
    height: size.height,
    category,
    isIntermediate: inv['is_intermediate'] === true,
    sessionId: env.sessionId,
    nodeId: inv.id,
    boardId,
    hasWorkflow: true,
    metadata: spec.f.some((f) => f.n === 'metadata') ? (inv['metadata'] ?? null) : null,
  });
}
