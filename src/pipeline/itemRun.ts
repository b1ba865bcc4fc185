import { OutputsError } from '../errors';
import type { Logger } from '../log';
import { NO_BOARD, recordId, type ImageRecord, type ItemNodeSummary, type ItemRecord, type OutputRecord, type TerminalStatus, type Via } from '../records';
import { TERMINAL_STATUSES, splitLegacyError, type ImageDto, type NodeEvent, type StatusEvent, type WireQueueItem, type WireSession } from '../invoke/wire';
import { PASS_THROUGH_NODE_TYPES, imageNamesInResult, requestedBoardOf } from './imageOutputs';

/** What an item's resolution may ask the server; every effect comes in through here. */
export interface ResolverDeps {
  imageDto(name: string): Promise<ImageDto | null>;
  queueItem(queueId: string, itemId: number): Promise<WireQueueItem | null>;
  /** 3.x: the live session, the only place its results are kept. */
  session?(sessionId: string): Promise<WireSession | null>;
  imageUrl(name: string, relative?: string | null): string;
  /** Last rungs of the ladder (image listings, board diff): images of `sessionId` the other rungs missed. */
  findSessionImages?(req: SessionImagesRequest): Promise<SessionImagesResult>;
}

export interface SessionImagesRequest {
  queueId: string;
  itemId: number;
  sessionId: string;
  /** Boards the graph writes to (plus `none`). */
  boards: string[];
  /** `YYYY-MM-DD HH:MM:SS.fff` UTC; listings stop at images older than this. */
  since: string | null;
  known: ReadonlySet<string>;
}

export interface SessionImagesResult {
  images: ImageDto[];
  /** False when the search could not be done in full (then the item is not `complete`). */
  exhaustive: boolean;
  via: Via;
}

export interface ResolverContext {
  server: string;
  deps: ResolverDeps;
  includeIntermediate: boolean;
  /** False for server generations whose queue item never holds results (3.2–4.2.3, docs/protocol.md §6.1). */
  sessionResults: boolean;
  /** The sessions API still serves results (3.x). */
  sessionsRoute?: boolean;
  /** Items can be children of a called saved workflow (6.14+): their records name the chain's root item. */
  workflowCalls?: boolean;
  log: Logger;
  now?: () => Date;
  /** See DEFAULT_CANCEL_GRACE_MS; 0 reports a canceled item at once. */
  cancelGraceMs?: number;
  /** Saves the image file and returns its path (`--download`); a failure is a warning, the record goes out without `file`. */
  saveImage?: (rec: ImageRecord) => Promise<string>;
}

/** A status/cancel notice that makes an item final. */
export type TerminalNotice = Pick<StatusEvent, 'queueId' | 'itemId' | 'status' | 'errorType' | 'errorMessage'> &
  Partial<Pick<StatusEvent, 'batchId' | 'sessionId'>>;

interface NodeInfo {
  preparedId: string;
  sourceId: string | null;
  nodeType: string | null;
  isIntermediate: boolean;
  requestedBoard: string | null;
}

/**
 * Everything known about one queue item while it runs: the images confirmed so far and, at its terminal status,
 * the rungs of the fallback ladder for what is still unknown. One instance per item; freed once the item is out.
 */
export class ItemRun {
  private readonly images = new Map<string, ImageRecord>();
  private readonly settledNodes = new Set<string>();
  private readonly rejected = new Set<string>();
  private readonly problems: string[] = [];
  /** A request of this attempt found the server unreachable: the item waits for the next one (after a reconnect). */
  private unreachable = false;
  /** Boards the item's nodes asked for, as seen in events (the search for a vanished item needs them). */
  private readonly boardsSeen = new Set<string>();
  private readonly nodesSeen = new Map<string, NodeInfo>();
  private batchId: string | null = null;
  private sessionId: string | null = null;
  private rootItemId: number;
  private rootKnown = false;
  private done = false;
  /** Seen `in_progress`: a cancel may then leave a node finishing after it. */
  running = false;
  /**
   * Seen `pending`: enqueued items start pending silently, so this status event marks a child item of a called
   * workflow (or a parent resuming), whose records must name the chain's root (docs/protocol.md §2.2, §8.8).
   */
  announcedPending = false;
  /** Seen `in_progress`: the item was followed from its start, so a missing `pending` announcement means a root. */
  startSeen = false;

  constructor(
    private readonly ctx: ResolverContext,
    readonly queueId: string,
    readonly itemId: number,
  ) {
    this.rootItemId = itemId;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Images reported before a restart: known, counted in the item record, never reported again. */
  seed(images: readonly ImageRecord[]): void {
    for (const img of images) {
      if (img.item_id !== this.itemId || this.images.has(img.image_name)) continue;
      this.images.set(img.image_name, img);
      if (img.prepared_node_id) this.settledNodes.add(img.prepared_node_id);
      this.batchId ??= img.batch_id;
      this.sessionId ??= img.session_id;
    }
  }

  /** Images of one `invocation_complete`, confirmed by their DTOs. */
  async onNodeComplete(ev: NodeEvent): Promise<ImageRecord[]> {
    this.noteNode(ev);
    if (this.done || this.settledNodes.has(ev.invocation.id)) return [];
    this.settledNodes.add(ev.invocation.id);
    const node: NodeInfo = {
      preparedId: ev.invocation.id,
      sourceId: ev.sourceId,
      nodeType: ev.invocation.type,
      isIntermediate: ev.invocation.is_intermediate === true,
      requestedBoard: requestedBoardOf(ev.invocation),
    };
    return this.confirm(node, imageNamesInResult(ev.result), 'socket');
  }

  /** Finishes the item: the ladder for what is still unknown, then its images and its `item` record. */
  async finish(notice: TerminalNotice): Promise<OutputRecord[]> {
    if (this.done) return [];
    this.batchId ??= notice.batchId ?? null;
    this.sessionId ??= notice.sessionId ?? null;
    const out: OutputRecord[] = [];
    const problemsBefore = this.problems.length;
    this.unreachable = false;
    let item: WireQueueItem | null = null;
    let itemReadable = true;
    try {
      item = await this.ctx.deps.queueItem(this.queueId, this.itemId);
    } catch (err) {
      itemReadable = false;
      this.failure(err, 'queue item could not be read');
    }
    if (this.done) return [];
    if (this.unreachable) return this.postpone(out, problemsBefore);
    if (item) {
      this.batchId = item.batch_id;
      this.sessionId = item.session_id;
      this.rootItemId = item.root_item_id ?? this.itemId;
      this.rootKnown = true;
    } else if (itemReadable) {
      this.problem('queue item is gone (deleted, cleared or pruned)');
    }

    let accounted = false;
    const order: string[] = [];
    const s = await this.sessionWithResults(item);
    if (s) {
      accounted = true;
      const nodes = s.execution_graph?.nodes ?? {};
      for (const [preparedId, result] of Object.entries(s.results ?? {})) {
        const graphNode = nodes[preparedId] as (Record<string, unknown> & { type: string }) | undefined;
        const names = imageNamesInResult(result as Record<string, unknown>);
        order.push(...names);
        if (this.settledNodes.has(preparedId) && names.every((n) => this.images.has(n) || this.rejected.has(n))) continue;
        const node: NodeInfo = {
          preparedId,
          sourceId: s.prepared_source_mapping?.[preparedId] ?? null,
          nodeType: graphNode?.type ?? null,
          isIntermediate: graphNode?.['is_intermediate'] === true,
          requestedBoard: graphNode ? requestedBoardOf(graphNode) : null,
        };
        this.settledNodes.add(preparedId);
        out.push(...(await this.confirm(node, names, 'queue_item')));
      }
    }

    const status = terminalStatus(item?.status, notice.status);
    const needSearch = !accounted || this.hasHiddenSavers(s);
    if (needSearch && this.sessionId && this.ctx.deps.findSessionImages) {
      try {
        const found = await this.ctx.deps.findSessionImages({
          queueId: this.queueId,
          itemId: this.itemId,
          sessionId: this.sessionId,
          boards: [...new Set([...boardsOf(item), ...this.boardsSeen])],
          since: item?.started_at ?? item?.created_at ?? null,
          known: new Set(this.images.keys()),
        });
        const adopted = found.images.flatMap((dto) => this.adoptFound(dto, s, found.via));
        await this.save(adopted);
        out.push(...adopted);
        accounted = found.exhaustive && (accounted || itemReadable);
      } catch (err) {
        this.failure(err, 'image search failed');
        accounted = false;
      }
    } else if (!accounted && status !== 'canceled') {
      this.problem(item ? 'the server keeps no results for finished items' : 'its outputs cannot be listed');
    }

    if (this.unreachable) return this.postpone(out, problemsBefore);
    this.done = true;
    const complete = accounted && this.problems.length === 0;
    if (!complete) {
      this.ctx.log.warn(
        `item ${this.itemId} (queue ${this.queueId}) reported incomplete: ${this.problems.join('; ') || 'outputs could not be confirmed'}`,
      );
    }
    out.push(this.itemRecord(item, notice, status, complete, order));
    return out;
  }

  /** Where this generation keeps the finished session's results: the queue item (4.2.4+) or the sessions API (3.x). */
  private async sessionWithResults(item: WireQueueItem | null): Promise<WireSession | null> {
    if (item?.session && this.ctx.sessionResults) return item.session;
    if (!this.ctx.sessionsRoute || !this.sessionId || !this.ctx.deps.session) return null;
    try {
      return await this.ctx.deps.session(this.sessionId);
    } catch (err) {
      this.failure(err, `session ${this.sessionId} could not be read`);
      return null;
    }
  }

  /** A node asked for a board but its result named no image: a custom node may have saved without returning it. */
  private hasHiddenSavers(s: WireSession | null): boolean {
    if (!s) return false;
    const nodes = s.execution_graph?.nodes ?? {};
    for (const [preparedId, result] of Object.entries(s.results ?? {})) {
      const node = nodes[preparedId] as { board?: unknown; type: string } | undefined;
      if (!node || PASS_THROUGH_NODE_TYPES.has(node.type)) continue;
      if (requestedBoardOf(node) !== NO_BOARD && imageNamesInResult(result as Record<string, unknown>).length === 0) return true;
    }
    return false;
  }

  private adoptFound(dto: ImageDto, session: WireSession | null, via: Via): ImageRecord[] {
    if (this.images.has(dto.image_name) || this.rejected.has(dto.image_name)) return [];
    if (dto.is_intermediate && !this.ctx.includeIntermediate) return [];
    const preparedId = dto.node_id ?? null;
    const graphNode = preparedId ? (session?.execution_graph?.nodes?.[preparedId] as { type: string; board?: unknown } | undefined) : undefined;
    const seen = preparedId ? this.nodesSeen.get(preparedId) : undefined;
    const node: NodeInfo = {
      preparedId: preparedId ?? '',
      sourceId: (preparedId ? session?.prepared_source_mapping?.[preparedId] : undefined) ?? seen?.sourceId ?? null,
      nodeType: graphNode?.type ?? seen?.nodeType ?? null,
      isIntermediate: dto.is_intermediate === true,
      requestedBoard: graphNode ? requestedBoardOf(graphNode) : (seen?.requestedBoard ?? null),
    };
    // Servers 4.0–4.2.3 keep no mapping from execution copies to workflow nodes; only events tell.
    if (node.sourceId === null) this.problem(`the workflow node that made ${dto.image_name} is unknown`);
    const rec = this.record(node, dto, false, via);
    if (!preparedId) rec.prepared_node_id = null;
    this.images.set(dto.image_name, rec);
    return [rec];
  }

  /** Any event of a node: remembers which workflow node an execution copy belongs to. */
  noteNode(ev: NodeEvent): void {
    if (this.nodesSeen.has(ev.invocation.id)) return;
    this.nodesSeen.set(ev.invocation.id, {
      preparedId: ev.invocation.id,
      sourceId: ev.sourceId,
      nodeType: ev.invocation.type,
      isIntermediate: ev.invocation.is_intermediate === true,
      requestedBoard: requestedBoardOf(ev.invocation),
    });
    this.batchId ??= ev.batchId;
    this.sessionId ??= ev.sessionId;
    this.boardsSeen.add(requestedBoardOf(ev.invocation));
  }

  private async confirm(node: NodeInfo, names: string[], via: Via): Promise<ImageRecord[]> {
    if (node.nodeType !== null && PASS_THROUGH_NODE_TYPES.has(node.nodeType)) return [];
    if (node.isIntermediate && !this.ctx.includeIntermediate) return [];
    const fresh = names.filter((n) => !this.images.has(n) && !this.rejected.has(n));
    if (fresh.length === 0) return [];
    const dtos = await Promise.all(
      fresh.map(async (n) => {
        try {
          return await this.ctx.deps.imageDto(n);
        } catch (err) {
          this.failure(err, `image ${n} could not be read`);
          return undefined;
        }
      }),
    );
    await this.learnRoot();
    const out: ImageRecord[] = [];
    fresh.forEach((name, i) => {
      const dto = dtos[i];
      if (dto === undefined || this.images.has(name)) return;
      if (dto === null) {
        this.problem(`image ${name} of node ${node.sourceId ?? node.preparedId} is gone`);
        return;
      }
      const cls = this.classify(node, dto);
      if (cls === 'reject') {
        this.rejected.add(name);
        return;
      }
      const rec = this.record(node, dto, cls === 'cached', via);
      this.images.set(name, rec);
      out.push(rec);
    });
    await this.save(out);
    return out;
  }

  /**
   * A child item of a called workflow belongs to its root run (docs/protocol.md §8.8); events do not say which, so such an
   * item is read once, before its first image goes out.
   */
  private async learnRoot(): Promise<void> {
    // An item first heard of mid-run (watch started late, events lost) may be a child all the same.
    if (this.rootKnown || !this.ctx.workflowCalls || (this.startSeen && !this.announcedPending)) return;
    this.rootKnown = true;
    try {
      const item = await this.ctx.deps.queueItem(this.queueId, this.itemId);
      this.rootItemId = item?.root_item_id ?? this.itemId;
    } catch {
      // The item record will read it again; until then the item is its own root.
    }
  }

  private async save(records: ImageRecord[]): Promise<void> {
    const saveImage = this.ctx.saveImage;
    if (!saveImage) return;
    await Promise.all(
      records.map(async (rec) => {
        try {
          rec.file = await saveImage(rec);
        } catch (err) {
          this.ctx.log.warn(`download of ${rec.image_name} failed: ${(err as Error).message}`);
        }
      }),
    );
  }

  /** The DTO's `session_id`/`node_id` tell who made an image (docs/protocol.md §4.1): this node, a cache hit, or someone else. */
  private classify(node: NodeInfo, dto: ImageDto): 'new' | 'cached' | 'reject' {
    if (dto.is_intermediate && !this.ctx.includeIntermediate) return 'reject';
    const sid = dto.session_id ?? null;
    if (sid === null) return 'reject'; // an upload handed on
    if (sid === this.sessionId) {
      return dto.node_id && dto.node_id !== node.preparedId ? 'reject' : 'new';
    }
    return 'cached';
  }

  private record(node: NodeInfo, dto: ImageDto, cached: boolean, via: Via): ImageRecord {
    const actual = dto.board_id ?? NO_BOARD;
    if (node.requestedBoard !== null && node.requestedBoard !== actual && !cached) {
      this.ctx.log.warn(
        `image ${dto.image_name} of node ${node.sourceId ?? node.preparedId} (item ${this.itemId}) is on board ${actual}, not on the requested board ${node.requestedBoard}`,
      );
    }
    return {
      type: 'image',
      record_id: recordId(this.ctx.server, this.sessionId, this.queueId, this.itemId, dto.image_name),
      server: this.ctx.server,
      queue_id: this.queueId,
      item_id: this.itemId,
      batch_id: this.batchId,
      session_id: this.sessionId,
      node_id: node.sourceId,
      prepared_node_id: node.preparedId || null,
      node_type: node.nodeType,
      image_name: dto.image_name,
      board_id: actual,
      requested_board_id: node.requestedBoard,
      is_intermediate: dto.is_intermediate === true,
      width: dto.width ?? null,
      height: dto.height ?? null,
      image_url: this.ctx.deps.imageUrl(dto.image_name, dto.image_url),
      cached,
      root_item_id: this.rootItemId,
      via,
      ts: this.now().toISOString(),
    };
  }

  private itemRecord(item: WireQueueItem | null, notice: TerminalNotice, status: TerminalStatus, complete: boolean, order: string[]): ItemRecord {
    const legacy = splitLegacyError(item?.error ?? null);
    const nodes: Record<string, ItemNodeSummary> = {};
    const boards: ItemRecord['boards'] = {};
    const vias: Via[] = [];
    const rank = new Map(order.map((n, i) => [n, i]));
    const all = [...this.images.values()].sort(
      (a, b) => (rank.get(a.image_name) ?? Infinity) - (rank.get(b.image_name) ?? Infinity),
    );
    const newImages: string[] = [];
    for (const img of all) {
      if (!vias.includes(img.via)) vias.push(img.via);
      // An image whose workflow node is unknown is left out of `nodes` (never keyed by an execution id); the item
      // is then not complete, and a warning says why.
      if (img.node_id !== null) {
        const n = (nodes[img.node_id] ??= { node_type: img.node_type, board_id: img.board_id, image_names: [] });
        n.image_names.push(img.image_name);
      }
      if (img.cached) continue;
      newImages.push(img.image_name);
      (boards[img.board_id] ??= { added: [], count_before: null, count_after: null }).added.push(img.image_name);
    }
    return {
      type: 'item',
      record_id: recordId(this.ctx.server, this.sessionId, this.queueId, this.itemId),
      server: this.ctx.server,
      queue_id: this.queueId,
      item_id: this.itemId,
      batch_id: this.batchId,
      session_id: this.sessionId,
      root_item_id: this.rootItemId,
      status,
      error_type: status === 'failed' ? (item?.error_type ?? legacy.errorType ?? notice.errorType ?? null) : null,
      error_message: status === 'failed' ? (item?.error_message ?? legacy.errorMessage ?? notice.errorMessage ?? null) : null,
      cancel_reason: null,
      nodes,
      new_images: newImages,
      boards,
      via: vias,
      complete,
      ts: this.now().toISOString(),
    };
  }

  private problem(text: string): void {
    this.problems.push(text);
  }

  /** A server that cannot be reached is not an answer: the item is retried later instead of reported incomplete. */
  private failure(err: unknown, what: string): void {
    if (err instanceof OutputsError && err.code === 'UNREACHABLE') this.unreachable = true;
    else this.problem(`${what}: ${(err as Error).message}`);
  }

  /** Keeps the item open: what this attempt found stays found, and the next attempt starts over for the rest. */
  private postpone(out: OutputRecord[], problemsBefore: number): OutputRecord[] {
    this.problems.length = problemsBefore;
    this.ctx.log.warn(`item ${this.itemId} (queue ${this.queueId}): server unreachable, resolving it once it answers again`);
    return out;
  }

  private now(): Date {
    return this.ctx.now ? this.ctx.now() : new Date();
  }
}

function terminalStatus(fromItem: string | undefined, fromEvent: string): TerminalStatus {
  if (fromItem && TERMINAL_STATUSES.has(fromItem)) return fromItem as TerminalStatus;
  if (TERMINAL_STATUSES.has(fromEvent)) return fromEvent as TerminalStatus;
  return 'canceled';
}

/** The boards an item's graph writes to, plus uncategorized. */
function boardsOf(item: WireQueueItem | null): string[] {
  const out = new Set<string>([NO_BOARD]);
  const graphs = [item?.session?.execution_graph?.nodes, item?.session?.graph?.nodes];
  for (const nodes of graphs) for (const n of Object.values(nodes ?? {})) out.add(requestedBoardOf(n));
  return [...out];
}
