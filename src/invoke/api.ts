import { FormData } from 'undici';
import { z } from 'zod';
import { OutputsError } from '../errors';
import { HttpError, InvokeHttp } from './http';
import { workflowPageSchema, workflowRecordSchema, type WireWorkflowPage, type WireWorkflowRecord } from './libraryWire';
import {
  appVersionSchema,
  batchStatusSchema,
  boardDtoSchema,
  enqueueResultSchema,
  imageDtoSchema,
  imageListSchema,
  itemIdsSchema,
  queueStatusSchema,
  listPageSchema,
  queueItemSchema,
  sessionSchema,
  stringArraySchema,
  type ImageDto,
  type WireBatchStatus,
  type WireBoard,
  type WireEnqueueResult,
  type WireQueueItem,
  type WireSession,
} from './wire';

const enc = encodeURIComponent;

export interface ImageListQuery {
  board_id?: string;
  is_intermediate?: boolean;
  offset?: number;
  limit?: number;
  order_dir?: 'ASC' | 'DESC';
  starred_first?: boolean;
}

/** A local image to upload: its bytes, a file name and its MIME type (`image/png`, `image/jpeg`, `image/webp`). */
export interface UploadFile {
  bytes: Uint8Array;
  filename: string;
  mime: string;
}

export interface UploadOptions {
  /** @default "user" */
  category?: 'general' | 'mask' | 'control' | 'user' | 'other';
  /** @default false */
  isIntermediate?: boolean;
  /** Board to add the upload to; uncategorized when absent. */
  boardId?: string;
}

/** The InvokeAI endpoints this project reads and writes (docs/protocol.md §5), typed. */
export class InvokeApi {
  constructor(readonly http: InvokeHttp) {}

  /**
   * The server's version (`GET /app/version`, no auth on any server, docs/protocol.md §5.6). Also the check that the
   * URL is an InvokeAI API at all: an answer that is not one (a 404 or another client error, a body that is not
   * JSON or has no `version`) throws `NOT_INVOKEAI`; an unreachable server or a 5xx throws as any request does.
   */
  async appVersion(): Promise<string> {
    const path = '/app/version';
    const { status, text } = await this.http.text('GET', path, { anonymous: true });
    if (status >= 200 && status < 300) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw notInvokeAi(this.http.endpoints.api, `${status}, not JSON`);
      }
      const r = appVersionSchema.safeParse(body);
      if (!r.success) throw notInvokeAi(this.http.endpoints.api, `${status}, no "version" in the answer`);
      return r.data.version;
    }
    if (status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status)) throw notInvokeAi(this.http.endpoints.api, String(status));
    throw new HttpError(status, 'GET', path, '');
  }

  /**
   * A queue item, or null when it is gone. An item of another queue answers 500 quoting a 404
   * (docs/protocol.md §5.2); for us that is "not in this queue" too.
   */
  async queueItem(queueId: string, itemId: number): Promise<WireQueueItem | null> {
    try {
      return await this.http.json('GET', `/queue/${enc(queueId)}/i/${itemId}`, queueItemSchema, { allowNotFound: true });
    } catch (err) {
      if (err instanceof HttpError && err.status === 500 && /404/.test(err.message)) return null;
      throw err;
    }
  }

  /** An image DTO, or null when it is gone (404) or not ours to read (403 for non-admins, docs/protocol.md §5.5). */
  async imageDto(name: string): Promise<ImageDto | null> {
    try {
      return await this.http.json('GET', `/images/i/${enc(name)}`, imageDtoSchema, { allowNotFound: true });
    } catch (err) {
      if (err instanceof HttpError && err.status === 403) return null;
      throw err;
    }
  }

  /** The live session (3.x only: its queue items never get their results). */
  async session(sessionId: string): Promise<WireSession | null> {
    return this.http.json('GET', `/sessions/${enc(sessionId)}`, sessionSchema, { allowNotFound: true });
  }

  async imagesByNames(names: readonly string[]): Promise<ImageDto[]> {
    return this.http.must('POST', '/images/images_by_names', z.array(imageDtoSchema), { body: { image_names: names } });
  }

  async listImages(q: ImageListQuery): Promise<z.infer<typeof imageListSchema>> {
    return this.http.must('GET', '/images/', imageListSchema, { query: { ...q } });
  }

  async boardImageNames(boardId: string, opts: { isIntermediate?: boolean } = {}): Promise<string[]> {
    return this.http.must('GET', `/boards/${enc(boardId)}/image_names`, stringArraySchema, {
      query: opts.isIntermediate === undefined ? {} : { is_intermediate: opts.isIntermediate },
    });
  }

  async board(boardId: string): Promise<WireBoard | null> {
    return this.http.json('GET', `/boards/${enc(boardId)}`, boardDtoSchema, { allowNotFound: true });
  }

  async createBoard(name: string): Promise<WireBoard> {
    return this.http.must('POST', '/boards/', boardDtoSchema, { query: { board_name: name } });
  }

  async deleteBoard(boardId: string, includeImages = false): Promise<void> {
    await this.http.json('DELETE', `/boards/${enc(boardId)}`, z.unknown(), {
      query: { include_images: includeImages },
      allowNotFound: true,
    });
  }

  async addImagesToBoard(boardId: string, names: readonly string[]): Promise<void> {
    await this.http.must('POST', '/board_images/batch', z.unknown(), { body: { board_id: boardId, image_names: names } });
  }

  /**
   * One page of `GET /queue/{q}/list` (3.2 … 6.6). The server's SQL, given a cursor, also returns rows of other
   * queues and statuses (its `OR` is not parenthesised, docs/protocol.md §5.3): callers filter.
   */
  async listPage(queueId: string, page: { limit: number; cursor?: number; priority?: number }): Promise<{ items: WireQueueItem[]; has_more: boolean }> {
    return this.http.must('GET', `/queue/${enc(queueId)}/list`, listPageSchema, {
      query: { limit: page.limit, ...(page.cursor === undefined ? {} : { cursor: page.cursor, priority: page.priority ?? 0 }) },
    });
  }

  /** Item ids of the queue, newest first (6.7+); null when the server has no such route. */
  async itemIds(queueId: string): Promise<number[] | null> {
    const r = await this.http.json('GET', `/queue/${enc(queueId)}/item_ids`, itemIdsSchema, {
      query: { order_dir: 'DESC' },
      allowNotFound: true,
    });
    return r?.item_ids ?? null;
  }

  async itemsByIds(queueId: string, ids: readonly number[]): Promise<WireQueueItem[]> {
    return this.http.must('POST', `/queue/${enc(queueId)}/items_by_ids`, z.array(queueItemSchema), { body: { item_ids: ids } });
  }

  /** Items of the queue not yet ended (`GET /queue/{q}/status`: pending, in progress and, from 6.14, waiting). */
  async unfinishedCount(queueId: string): Promise<number | null> {
    const r = await this.http.json('GET', `/queue/${enc(queueId)}/status`, queueStatusSchema, { allowNotFound: true });
    if (!r) return null;
    return r.queue.pending + r.queue.in_progress + (r.queue.waiting ?? 0);
  }

  /** `BatchStatus` counts of one batch (its items, children of called workflows included). */
  async batchStatus(queueId: string, batchId: string): Promise<WireBatchStatus> {
    return this.http.must('GET', `/queue/${enc(queueId)}/b/${enc(batchId)}/status`, batchStatusSchema);
  }

  async enqueueBatch(queueId: string, body: unknown): Promise<WireEnqueueResult> {
    return this.http.must('POST', `/queue/${enc(queueId)}/enqueue_batch`, enqueueResultSchema, { body });
  }

  async cancelItem(queueId: string, itemId: number): Promise<void> {
    await this.http.json('PUT', `/queue/${enc(queueId)}/i/${itemId}/cancel`, z.unknown(), { allowNotFound: true });
  }

  async cancelByBatchIds(queueId: string, batchIds: readonly string[]): Promise<void> {
    await this.http.must('PUT', `/queue/${enc(queueId)}/cancel_by_batch_ids`, z.unknown(), { body: { batch_ids: batchIds } });
  }

  /** A saved workflow of the library, or null when there is none with this id. */
  async workflow(workflowId: string): Promise<WireWorkflowRecord | null> {
    return this.http.json('GET', `/workflows/i/${enc(workflowId)}`, workflowRecordSchema, { allowNotFound: true });
  }

  /** One page (0-based) of the workflow library, in the server's default order (by name). */
  async listWorkflows(page: number, perPage: number): Promise<WireWorkflowPage> {
    return this.http.must('GET', '/workflows/', workflowPageSchema, { query: { page, per_page: perPage } });
  }

  /** `POST /images/upload`: a multipart form with the file; the new image's DTO (its `session_id` is null). */
  async uploadImage(file: UploadFile, opts: UploadOptions = {}): Promise<ImageDto> {
    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.mime }), file.filename);
    return this.http.must('POST', '/images/upload', imageDtoSchema, {
      query: { image_category: opts.category ?? 'user', is_intermediate: opts.isIntermediate ?? false, board_id: opts.boardId },
      form,
    });
  }

  /** Absolute URL of an image file; InvokeAI's `image_url` is relative to the server root (docs/protocol.md §5.5). */
  imageUrl(name: string, relative?: string | null): string {
    return new URL(relative ?? `api/v1/images/i/${enc(name)}/full`, this.http.endpoints.root).toString();
  }
}

/** `no InvokeAI API at http://host/prefix/api/v1 (GET /app/version: 404) — wrong path prefix?` */
function notInvokeAi(api: string, what: string): OutputsError {
  return new OutputsError('NOT_INVOKEAI', `no InvokeAI API at ${api} (GET /app/version: ${what}) — wrong path prefix?`);
}

/** True for the error of a URL that answers but not as an InvokeAI API (see {@link InvokeApi.appVersion}). */
export function isNotInvokeAi(err: unknown): err is OutputsError {
  return err instanceof OutputsError && err.code === 'NOT_INVOKEAI';
}
