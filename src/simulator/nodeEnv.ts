import type { InvocationSpec } from './catalog';
import type { NodeJson } from './graph';
import type { ImageStore } from './images';
import { isJsonObject } from './json';
import type { VideoStore } from './videos';

/** A node raised: `errorType` is the Python exception class name the real server would report. */
export class NodeError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeError';
  }
}

/** What a running node can reach: the stores it saves into and the session it runs for. */
export interface NodeEnv {
  readonly sessionId: string;
  readonly images: ImageStore;
  readonly videos: VideoStore;
  readonly boardExists: (boardId: string) => boolean;
  /** Sizes of tensors made so far (latents keep their size through denoise to the decoder). */
  readonly tensorSizes: Map<string, Size>;
  readonly log: (msg: string) => void;
}

export interface Size {
  width: number;
  height: number;
}

/**
 * The board an output goes to (`context.images.save`, `context.videos.save`): the node's own `board` if it is a
 * WithBoard node; a board that does not exist leaves the output uncategorized with only a warning (docs/protocol.md §4.2).
 */
export function boardFor(inv: NodeJson, spec: InvocationSpec, env: NodeEnv, what: string): string | null {
  const withBoard = spec.f.some((f) => f.n === 'board');
  const board = inv['board'];
  const requested = withBoard && isJsonObject(board) && typeof board['board_id'] === 'string' ? board['board_id'] : null;
  if (requested === null || env.boardExists(requested)) return requested;
  env.log(`Failed to add ${what} to board ${requested}: board not found; ${what} saved uncategorized`);
  return null;
}
