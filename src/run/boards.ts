import { z } from 'zod';
import { OutputsError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { requestedBoardOf } from '../ledger/nodeKinds';
import { NO_BOARD, type ImageRecord, type ItemRecord } from '../records';
import type { ServerConnection } from '../invoke/connection';
import { savesToBoard, setGraphBoard, type Graph } from '../workflow';

export interface RunBoardsOptions {
  /** `--board`: where every output node saves, and with a temporary board, where the outputs end. */
  board: string | undefined;
  includeIntermediate: boolean;
}

/**
 * The boards of one `run`: the check that `--board` exists, the temporary board (`--temp-board`), the image counts
 * before and after each item, and the move of each item's outputs to the final board.
 */
export class RunBoards {
  private temp: string | null = null;
  private readonly countsBefore = new Map<string, number | null>();

  constructor(
    private readonly server: ServerConnection,
    private readonly log: Logger,
    private readonly opts: RunBoardsOptions,
  ) {}

  /** The run's own board (`--temp-board`), once made. */
  get temporary(): string | null {
    return this.temp;
  }

  /** The board the outputs end on when it differs from where they are made (`--temp-board --board ID`). */
  private get final(): string | null {
    return this.temp !== null && this.opts.board !== undefined ? this.opts.board : null;
  }

  /** A board that does not exist would quietly leave the images uncategorized. */
  async check(): Promise<void> {
    const b = this.opts.board;
    if (b === undefined || b === NO_BOARD) return;
    if (!(await this.server.api.board(b))) {
      throw new OutputsError('BAD_USAGE', `--board ${b}: no such board on ${this.server.endpoints.server}`);
    }
  }

  /** Makes the run's own board and points every output node of the graph at it. */
  async createTemp(graph: Graph): Promise<Graph> {
    const b = await this.server.api.createBoard(`invokeai-outputs run ${new Date().toISOString()}`);
    this.temp = b.board_id;
    this.log.info(`running into temporary board ${b.board_id}`);
    return setGraphBoard(graph, b.board_id);
  }

  /** The boards the graph writes to, with their image counts before the run. */
  async snapshot(graph: Graph): Promise<void> {
    const boards = new Set<string>();
    for (const node of Object.values(graph.nodes)) {
      const b = requestedBoardOf(node);
      if (b !== NO_BOARD) boards.add(b);
      // An output node without a board saves uncategorized: "none" is a board of the run like any other.
      else if (savesToBoard(node.type, node) && (node.is_intermediate !== true || this.opts.includeIntermediate)) boards.add(NO_BOARD);
    }
    for (const b of boards) this.countsBefore.set(b, b === this.temp ? 0 : await this.count(b));
  }

  /**
   * Moves an item's outputs to the final board and fills its `boards` counts. While other items of the run are still
   * going (`othersPending`), a board's count would include their images too: this item's count is then the previous
   * one plus what it added; the last item's count is the server's.
   */
  async account(item: ItemRecord, images: ImageRecord[], othersPending: boolean): Promise<void> {
    const temp = this.temp;
    const final = this.final;
    if (temp !== null && final !== null) await this.moveToFinal(item, images, temp, final);
    const after = async (boardId: string, before: number | null, added: number): Promise<number | null> =>
      before !== null && (boardId === temp || othersPending) ? before + added : this.count(boardId);
    for (const [boardId, summary] of Object.entries(item.boards)) {
      if (temp !== null && boardId === final) continue;
      if (!this.countsBefore.has(boardId) && boardId !== NO_BOARD) continue;
      summary.count_before = this.countsBefore.get(boardId) ?? null;
      summary.count_after = await after(boardId, summary.count_before, summary.added.length);
      // The next item of the run starts where this one ended.
      this.countsBefore.set(boardId, summary.count_after);
    }
    for (const [boardId, before] of this.countsBefore) {
      if (item.boards[boardId] || (boardId === temp && final !== null)) continue;
      const count = await after(boardId, before, 0);
      item.boards[boardId] = { added: [], count_before: before, count_after: count };
      this.countsBefore.set(boardId, count);
    }
  }

  private async count(boardId: string): Promise<number | null> {
    try {
      return (await this.server.api.listImages({ board_id: boardId, is_intermediate: false, limit: 1 })).total;
    } catch (err) {
      this.log.debug(`cannot count board ${boardId}: ${errorMessage(err)}`);
      return null;
    }
  }

  /**
   * Outputs made on the temporary board move to the final one; records name the final board only. Only this run
   * writes to the temporary board, so the move adds exactly this item's images to the final board: its count is
   * read right after the move, and the count before is that minus what the move added, whatever else writes to
   * the final board meanwhile.
   */
  private async moveToFinal(item: ItemRecord, images: ImageRecord[], temp: string, final: string): Promise<void> {
    const names = images.filter((i) => i.board_id === temp).map((i) => i.image_name);
    if (names.length) {
      if (final !== NO_BOARD) await this.server.api.addImagesToBoard(final, names);
      // "none" is no board: the images leave the temporary one.
      else await this.server.http.must('POST', '/board_images/batch/delete', z.unknown(), { body: { image_names: names } });
    }
    const after = await this.count(final);
    const before = after === null ? null : after - names.length;
    for (const img of images) {
      if (img.board_id === temp) img.board_id = final;
      if (img.requested_board_id === temp) img.requested_board_id = final;
    }
    for (const n of Object.values(item.nodes)) if (n.board_id === temp) n.board_id = final;
    const moved = item.boards[temp];
    delete item.boards[temp];
    const target = (item.boards[final] ??= { added: [], count_before: null, count_after: null });
    target.added.push(...(moved?.added ?? []));
    target.count_before = before;
    target.count_after = after;
  }

  /**
   * With a final board, the temporary one goes, whatever happened; without one, it is the run's result and stays,
   * unless nothing was enqueued into it.
   */
  async finish(enqueued: boolean): Promise<void> {
    const temp = this.temp;
    if (temp === null || (this.opts.board === undefined && enqueued)) return;
    try {
      if (this.opts.board !== undefined && this.opts.board !== NO_BOARD) {
        // Whatever is still on it (the run broke off half way) goes to the final board too, not to uncategorized.
        const left = await this.server.api.boardImageNames(temp, { isIntermediate: false });
        if (left.length) await this.server.api.addImagesToBoard(this.opts.board, left);
      }
      await this.server.api.deleteBoard(temp, false);
      this.log.debug(`deleted temporary board ${temp}`);
    } catch (err) {
      this.log.warn(`temporary board ${temp} could not be deleted: ${errorMessage(err)}`);
    }
  }
}
