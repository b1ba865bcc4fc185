import type { BoardStore } from './boards';
import type { InvocationCache } from './cache';
import type { LiveSessions } from './liveSessions';
import type { EventPublisher } from './events';
import type { ImageStore } from './images';
import type { Processor } from './processor';
import type { ProfileSpec } from './profiles';
import type { SessionQueue } from './queue';
import type { VideoStore } from './videos';
import type { WorkflowLibrary } from './workflows';

/** Everything the HTTP routes work on; one per simulator. */
export interface SimContext {
  readonly profile: ProfileSpec;
  readonly queue: SessionQueue;
  readonly images: ImageStore;
  readonly videos: VideoStore;
  readonly boards: BoardStore;
  readonly cache: InvocationCache;
  readonly processor: Processor;
  readonly events: EventPublisher;
  readonly workflows: WorkflowLibrary;
  /** 3.x's in-memory sessions (`GET /sessions/{id}`). */
  readonly sessions: LiveSessions;
  readonly log: (msg: string) => void;
}
