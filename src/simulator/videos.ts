import { sqliteTime, uuid } from './clock';
import { encodeWebp } from './encode';
import type { ImageCategory, MediaRecordFields } from './images';
import type { Json } from './json';

/** `VideoDTO` as `GET /videos/i/{name}` returns it (6.14+, video_records_common.py / videos_common.py@v6.14.0-rc1). */
export interface VideoDTO extends MediaRecordFields {
  video_name: string;
  video_url: string;
  thumbnail_url: string;
  video_origin: 'internal' | 'external';
  video_category: ImageCategory;
  duration: number;
  fps: number | null;
  video_subfolder: string;
}

export interface VideoRecord {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** What the decoder would count (`decoder_frame_count`); the DTO has only duration and fps. */
  readonly frames: number;
  readonly fps: number;
  readonly duration: number;
  readonly isIntermediate: boolean;
  readonly sessionId: string | null;
  readonly nodeId: string | null;
  boardId: string | null;
  readonly createdMs: number;
  readonly metadata: Json;
}

export type NewVideo = Omit<VideoRecord, 'name' | 'createdMs' | 'duration'> & { name?: string };

/**
 * The videos table and its files (6.14+): records by name, made by video nodes (`context.videos.save`). The file is a
 * stub: an MP4 `ftyp` box and nothing playable, since nobody here decodes it.
 */
export class VideoStore {
  private readonly byName = new Map<string, VideoRecord>();

  get size(): number {
    return this.byName.size;
  }

  get(name: string): VideoRecord | undefined {
    return this.byName.get(name);
  }

  /** Names end in `.mp4` (`create_video_name`, names_default.py@v6.14.0-rc1); duration is frames over fps. */
  add(v: NewVideo, now: number = Date.now()): VideoRecord {
    const r: VideoRecord = { ...v, name: v.name ?? `${uuid()}.mp4`, duration: v.frames / v.fps, createdMs: now };
    if (this.byName.has(r.name)) throw new Error(`video ${r.name} already exists`);
    this.byName.set(r.name, r);
    return r;
  }

  delete(name: string): VideoRecord | undefined {
    const r = this.byName.get(name);
    this.byName.delete(name);
    return r;
  }

  /** Videos of a board (`null` = uncategorized), oldest first. */
  boardVideos(boardId: string | null): VideoRecord[] {
    return [...this.byName.values()].filter((r) => r.boardId === boardId);
  }

  toDTO(r: VideoRecord): VideoDTO {
    const t = sqliteTime(r.createdMs);
    return {
      video_name: r.name,
      // Relative like image URLs (`get_video_url`, urls_default.py@v6.14.0-rc1).
      video_url: `api/v1/videos/i/${r.name}/full`,
      thumbnail_url: `api/v1/videos/i/${r.name}/thumbnail`,
      video_origin: 'internal',
      video_category: 'general',
      width: r.width,
      height: r.height,
      duration: r.duration,
      fps: r.fps,
      created_at: t,
      updated_at: t,
      deleted_at: null,
      is_intermediate: r.isIntermediate,
      session_id: r.sessionId,
      node_id: r.nodeId,
      starred: false,
      has_workflow: false,
      video_subfolder: '',
      board_id: r.boardId,
    };
  }

  /** `ftyp` (major brand `isom`, minor 512, compatible `isom iso2 avc1 mp41`), then an empty `mdat`. */
  mp4(): Buffer {
    const ftyp = Buffer.concat([u32(32), Buffer.from('ftypisom'), u32(512), Buffer.from('isomiso2avc1mp41')]);
    return Buffer.concat([ftyp, u32(8), Buffer.from('mdat')]);
  }

  /** First-frame thumbnail, WebP, longest side at most 256 px. */
  thumbnail(r: VideoRecord): Buffer {
    const scale = Math.min(1, 256 / Math.max(r.width, r.height));
    return encodeWebp(Math.max(1, Math.round(r.width * scale)), Math.max(1, Math.round(r.height * scale)), { r: 40, g: 40, b: 40, a: 255 });
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
