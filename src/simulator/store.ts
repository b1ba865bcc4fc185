import type { SimContext } from './context';
import { itemForGeneration } from './generations';
import type { JsonObject } from './json';
import type { QueueItem } from './queue';
import type { SimulatorStore } from './types';

/** The read-only view of a simulator's state that tests get (`Simulator.store`). */
export function storeView(ctx: SimContext): SimulatorStore {
  const { images, boards, queue, profile } = ctx;
  const asRead = (i: QueueItem): JsonObject => itemForGeneration(queue.dump(i, profile.itemReadExcludesNone), profile);
  return {
    get imageCount() {
      return images.size;
    },
    getImage: (name) => {
      const r = images.get(name);
      return r ? images.toDTO(r) : undefined;
    },
    getVideo: (name) => {
      const v = ctx.videos.get(name);
      return v ? ctx.videos.toDTO(v) : undefined;
    },
    imageNames: (boardId) => (boardId === undefined ? images.allImages() : images.boardImages(boardId === 'none' ? null : boardId)).map((r) => r.name),
    getBoard: (id) => {
      const b = boards.get(id);
      return b ? boards.toDTO(b) : undefined;
    },
    listBoards: () => boards.list().map((b) => boards.toDTO(b)),
    getQueueItem: (itemId) => {
      const i = queue.get(itemId);
      return i ? asRead(i) : undefined;
    },
    listQueueItems: (queueId) => (queueId === undefined ? queue.all() : queue.inQueue(queueId)).map(asRead),
  };
}
