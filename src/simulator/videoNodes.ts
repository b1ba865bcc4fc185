import type { InvocationSpec } from './catalog';
import type { NodeJson } from './graph';
import { isJsonObject, type Json, type JsonObject } from './json';
import { boardFor, NodeError, type NodeEnv, type Size } from './nodeEnv';
import type { VideoRecord } from './videos';

/*
 * The 6.14 nodes that output a `video_output` (primitives.py, wan_latents_to_video.py, video_concat.py,
 * video_frame_extract_range.py @v6.14.0-rc1), with no frames decoded: sizes, frame counts and rates follow the
 * real nodes' arithmetic, and a saved video is a record with a stub file (videos.ts).
 */

export interface VideoRef {
  video_name: string;
}

export function isVideoRef(v: Json | undefined): v is JsonObject & VideoRef {
  return isJsonObject(v) && typeof v['video_name'] === 'string';
}

/** Frames of a Wan clip: `(T_lat - 1) * 4 + 1` with the usual 21 latent frames. */
const WAN_FRAMES = 81;
const DEFAULT_SIZE: Size = { width: 832, height: 480 };

const valueError = (msg: string): NodeError => new NodeError('ValueError', msg);

function input(env: NodeEnv, v: Json | undefined): VideoRecord {
  const r = isVideoRef(v) ? env.videos.get(v.video_name) : undefined;
  if (!r) throw new NodeError('VideoRecordNotFoundException', 'Video record not found');
  return r;
}

/** `VideoOutput.build`: the video's fields, `num_frames` as the decoder counts them. */
function videoOutput(r: VideoRecord): JsonObject {
  return { video: { video_name: r.name }, width: r.width, height: r.height, num_frames: r.frames, fps: r.fps, duration: r.duration, type: 'video_output' };
}

/** `context.videos.save`: the board and metadata of a WithBoard/WithMetadata node, this session and prepared node. */
function save(inv: NodeJson, spec: InvocationSpec, env: NodeEnv, v: { size: Size; frames: number; fps: number }): VideoRecord {
  return env.videos.add({
    width: v.size.width,
    height: v.size.height,
    frames: v.frames,
    fps: v.fps,
    isIntermediate: inv['is_intermediate'] === true,
    sessionId: env.sessionId,
    nodeId: inv.id,
    boardId: boardFor(inv, spec, env, 'video'),
    metadata: spec.f.some((f) => f.n === 'metadata') ? (inv['metadata'] ?? null) : null,
  });
}

const num = (v: Json | undefined, fallback: number): number => (typeof v === 'number' ? v : fallback);

/** `video_concat`: same-size clips joined; a crossfade eats `transition_frames` per boundary. */
function concat(inv: NodeJson, spec: InvocationSpec, env: NodeEnv): JsonObject {
  const list = Array.isArray(inv['videos']) ? inv['videos'] : [];
  if (list.length < 2) throw valueError('video_concat requires at least two input videos.');
  const clips = list.map((v) => input(env, v));
  const [first] = clips as [VideoRecord, ...VideoRecord[]];
  if (clips.some((c) => c.width !== first.width || c.height !== first.height))
    throw valueError('All inputs must share the same dimensions. Re-render at a single resolution before concatenating.');
  const fps = num(inv['fps'], first.fps);
  const total = clips.reduce((n, c) => n + c.frames, 0);
  const frames = inv['transition'] === 'crossfade' ? total - num(inv['transition_frames'], 8) * (clips.length - 1) : total;
  if (frames <= 0) throw valueError('Concatenation produced zero output frames.');
  return videoOutput(save(inv, spec, env, { size: { width: first.width, height: first.height }, frames, fps }));
}

/** `extract_video_range`: inclusive 0-based bounds, negative ones from the end. */
function range(inv: NodeJson, spec: InvocationSpec, env: NodeEnv): JsonObject {
  const src = input(env, inv['video']);
  const resolve = (i: number, name: string): number => {
    const at = i < 0 ? src.frames + i : i;
    if (at < 0 || at >= src.frames) throw valueError(`${name} ${i} is out of range for a video with ${src.frames} frames.`);
    return at;
  };
  const start = resolve(num(inv['start_frame'], 0), 'start_frame');
  const end = resolve(num(inv['end_frame'], -1), 'end_frame');
  if (end < start) throw valueError(`end_frame (${num(inv['end_frame'], -1)} → ${end}) must be >= start_frame (${num(inv['start_frame'], 0)} → ${start}) after resolving negative indices.`);
  const fps = num(inv['fps'], 0) > 0 ? num(inv['fps'], 0) : src.fps > 0 ? src.fps : 16;
  const out = save(inv, spec, env, { size: { width: src.width, height: src.height }, frames: end - start + 1, fps });
  return { ...videoOutput(out), start_frame: start, end_frame: end, type: 'extract_video_range_output' };
}

const RUNNERS: ReadonlyMap<string, (inv: NodeJson, spec: InvocationSpec, env: NodeEnv, size: Size | undefined) => JsonObject> = new Map([
  ['video', (inv: NodeJson, _spec: InvocationSpec, env: NodeEnv) => videoOutput(input(env, inv['video']))],
  // Decodes the Wan latents: their size, 81 frames at the node's fps (16 by default).
  ['wan_l2v', (inv: NodeJson, spec: InvocationSpec, env: NodeEnv, size: Size | undefined) => videoOutput(save(inv, spec, env, { size: size ?? DEFAULT_SIZE, frames: WAN_FRAMES, fps: num(inv['fps'], 16) }))],
  ['video_concat', concat],
  ['extract_video_range', range],
]);

/** The output of a video node, or undefined for any other type. */
export function runVideoNode(inv: NodeJson, spec: InvocationSpec, env: NodeEnv, size: Size | undefined): JsonObject | undefined {
  return RUNNERS.get(inv.type)?.(inv, spec, env, size);
}
