import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { ImageDownloader } from '../output/download';
import type { ImageRecord, ItemRecord, OutputRecord } from '../records';
import type { RunBoards } from './boards';

export interface ReleaseOptions {
  boards: RunBoards;
  downloader: ImageDownloader | null;
  saveImage?: (rec: ImageRecord) => Promise<string>;
  /** True while other items of the run are still going (a board's count would include their images too). */
  othersPending: () => boolean;
  onRecord?: (rec: OutputRecord) => void;
  log: Logger;
}

/**
 * Run's records leave in the order its items ran, each item's images first: an item's record waits for the items
 * that ended before it, so board counts chain from one item to the next and a cache hit never comes before the item
 * that made its image. Image records wait for their item (boards may still be moved, files downloaded).
 */
export class OrderedRelease {
  readonly images: ImageRecord[] = [];
  readonly items: ItemRecord[] = [];
  /** Item ids in the order their end became known. */
  private readonly ended: number[] = [];
  private readonly held = new Map<number, ImageRecord[]>();
  private readonly done = new Map<number, ItemRecord>();
  private readonly released = new Set<number>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ReleaseOptions) {}

  /** An item's end was heard of (its terminal status): it takes its place in the order. */
  ending(itemId: number): void {
    if (!this.ended.includes(itemId)) this.ended.push(itemId);
  }

  take(rec: OutputRecord): void {
    if (rec.type === 'image') {
      const list = this.held.get(rec.item_id) ?? [];
      list.push(rec);
      this.held.set(rec.item_id, list);
      return;
    }
    this.ending(rec.item_id);
    this.done.set(rec.item_id, rec);
    this.chain = this.chain.then(() => this.releaseReady());
  }

  /** Resolves once every record taken so far has gone out. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async releaseReady(): Promise<void> {
    for (;;) {
      const next = this.ended.find((id) => !this.released.has(id));
      const item = next === undefined ? undefined : this.done.get(next);
      if (!item) return;
      this.done.delete(item.item_id);
      this.released.add(item.item_id);
      await this.release(item);
    }
  }

  private async release(item: ItemRecord): Promise<void> {
    const images = this.held.get(item.item_id) ?? [];
    this.held.delete(item.item_id);
    await this.opts.boards.account(item, images, this.opts.othersPending());
    for (const img of images) {
      try {
        if (this.opts.downloader) img.file = await this.opts.downloader.download(img);
        else if (this.opts.saveImage) img.file = await this.opts.saveImage(img);
      } catch (err) {
        this.opts.log.warn(`download of ${img.image_name} failed: ${errorMessage(err)}`);
      }
    }
    for (const img of images) {
      this.images.push(img);
      this.opts.onRecord?.(img);
    }
    this.items.push(item);
    this.opts.log.info(`item ${item.item_id} ${item.status}: ${item.new_images.length} new image(s)${item.error_type ? ` (${item.error_type}: ${item.error_message ?? ''})` : ''}`);
    this.opts.onRecord?.(item);
  }
}
