import { sqliteTime, uuid } from './clock';
import type { ImageStore } from './images';
import type { VideoStore } from './videos';

export type BoardVisibility = 'private' | 'shared' | 'public';

/** `BoardDTO` at HEAD (docs/protocol.md §5.4). */
export interface BoardDTO {
  board_id: string;
  board_name: string;
  user_id: string;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  cover_image_name: string | null;
  archived: boolean;
  board_visibility: BoardVisibility;
  cover_video_name: string | null;
  image_count: number;
  video_count: number;
  asset_count: number;
  owner_username: string | null;
}

export interface BoardRecord {
  readonly board_id: string;
  board_name: string;
  readonly createdMs: number;
  updatedMs: number;
  archived: boolean;
  board_visibility: BoardVisibility;
  cover_image_name: string | null;
}

export interface BoardChanges {
  board_name?: string;
  cover_image_name?: string | null;
  archived?: boolean;
  board_visibility?: BoardVisibility;
}

export class BoardStore {
  private readonly boards = new Map<string, BoardRecord>();

  constructor(
    private readonly images: ImageStore,
    private readonly videos: VideoStore,
  ) {}

  create(name: string): BoardRecord {
    const now = Date.now();
    const b: BoardRecord = {
      board_id: uuid(),
      board_name: name,
      createdMs: now,
      updatedMs: now,
      archived: false,
      board_visibility: 'private',
      cover_image_name: null,
    };
    this.boards.set(b.board_id, b);
    return b;
  }

  get(id: string): BoardRecord | undefined {
    return this.boards.get(id);
  }

  has(id: string): boolean {
    return this.boards.has(id);
  }

  list(): BoardRecord[] {
    return [...this.boards.values()];
  }

  update(id: string, changes: BoardChanges): BoardRecord | undefined {
    const b = this.boards.get(id);
    if (!b) return undefined;
    if (changes.board_name !== undefined) b.board_name = changes.board_name;
    if (changes.cover_image_name !== undefined) b.cover_image_name = changes.cover_image_name;
    if (changes.archived !== undefined) b.archived = changes.archived;
    if (changes.board_visibility !== undefined) b.board_visibility = changes.board_visibility;
    b.updatedMs = Date.now();
    return b;
  }

  delete(id: string): boolean {
    return this.boards.delete(id);
  }

  toDTO(b: BoardRecord): BoardDTO {
    // Counts are non-intermediate images; `general` ones are images, the other categories assets.
    let images = 0;
    let assets = 0;
    let latest: { name: string; createdMs: number } | undefined;
    for (const r of this.images.boardImages(b.board_id)) {
      if (r.isIntermediate) continue;
      if (r.category === 'general') images++;
      else assets++;
      latest = r;
    }
    const videos = this.videos.boardVideos(b.board_id).filter((v) => !v.isIntermediate);
    const video = videos[videos.length - 1];
    // The cover is the newer of the latest image and the latest video (`_resolve_cover`, boards_default.py@v6.14.0-rc1).
    const videoCover = video !== undefined && b.cover_image_name === null && (latest === undefined || video.createdMs > latest.createdMs);
    return {
      board_id: b.board_id,
      board_name: b.board_name,
      user_id: 'system',
      created_at: sqliteTime(b.createdMs),
      updated_at: sqliteTime(b.updatedMs),
      deleted_at: null,
      cover_image_name: videoCover ? null : (b.cover_image_name ?? latest?.name ?? null),
      archived: b.archived,
      board_visibility: b.board_visibility,
      cover_video_name: videoCover ? video.name : null,
      image_count: images,
      video_count: videos.length,
      asset_count: assets,
      owner_username: null,
    };
  }
}
