import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { SimAuth } from './auth';
import type { FaultInjector } from './faults';
import type { ProfileSpec } from './profiles';
import type { Caller } from './router';

/** Single-user mode: every socket and every queue item belongs to `system`, an admin (docs/protocol.md §1.3). */
export const SYSTEM_USER = 'system';
const ADMIN_ROOM = 'admin';
const userRoom = (user: string): string => `user:${user}`;

type Payload = Record<string, unknown>;

/** python-socketio's default CONNECT_ERROR message when the connect handler returns False (docs/protocol.md §1.3). */
export const REJECTED = 'Connection rejected by server';

const callerOf = (socket: Socket): Caller => (socket.data as { caller: Caller }).caller;

/**
 * The socket.io side of the simulator: rooms as InvokeAI's `SocketIO` class manages them and event routing
 * per server generation (docs/protocol.md §1.3–§2.4). Every logical emit passes through the fault injector once.
 */
export class SocketHub {
  private io: Server | undefined;

  constructor(
    private readonly profile: ProfileSpec,
    private readonly faults: FaultInjector,
    private readonly log: (msg: string) => void,
    private readonly auth: SimAuth,
  ) {
    // HEAD: a revoked user's sockets are disconnected by the server (docs/protocol.md §1.3); no client retries that by itself.
    auth.onRevoked = (userId) => this.disconnectUser(userId);
  }

  attach(http: HttpServer, path: string): void {
    const io = new Server(http, { path, serveClient: false, cors: { origin: '*' }, transports: ['polling', 'websocket'] });
    io.use((socket, next) => {
      const caller = this.auth.socketCaller(socket.handshake.auth, socket.handshake.headers.authorization);
      if (!caller) {
        this.log(`socket ${socket.id} refused: no valid token`);
        next(new Error(REJECTED));
        return;
      }
      (socket.data as { caller: Caller }).caller = caller;
      next();
    });
    io.on('connection', (socket) => this.onConnection(socket));
    this.io = io;
  }

  /** The rooms of a socket's user: `user:<id>`, and `admin` for an admin. */
  private userRooms(socket: Socket): string[] {
    const { userId, isAdmin } = callerOf(socket);
    return isAdmin ? [userRoom(userId), ADMIN_ROOM] : [userRoom(userId)];
  }

  private onConnection(socket: Socket): void {
    // HEAD joins the user/admin rooms at connect; earlier servers only on subscribe_queue (docs/protocol.md §1.3).
    if (this.profile.roomsAtConnect) void socket.join([...this.userRooms(socket), 'workflows:shared']);
    socket.on('subscribe_queue', (payload: unknown, ack?: unknown) => {
      const queueId = queueIdOf(payload);
      // A malformed payload raises inside the handler: no ACK at all (docs/protocol.md §1.4).
      if (queueId === undefined) {
        this.log(`subscribe_queue: invalid payload from ${socket.id}`);
        return;
      }
      const rooms = [queueId];
      if (this.profile.subscribeJoinsUserRooms) rooms.push(...this.userRooms(socket));
      void socket.join(rooms);
      if (typeof ack === 'function') (ack as () => void)();
    });
    socket.on('unsubscribe_queue', (payload: unknown, ack?: unknown) => {
      const queueId = queueIdOf(payload);
      if (queueId === undefined) return;
      void socket.leave(queueId);
      if (typeof ack === 'function') (ack as () => void)();
    });
  }

  /** Sockets currently connected (for tests). */
  get connectedCount(): number {
    return this.io?.sockets.sockets.size ?? 0;
  }

  /** Server-initiated disconnect of every socket: clients see `io server disconnect` and do not retry. */
  disconnectAll(): void {
    this.io?.disconnectSockets(true);
  }

  /** Server-initiated disconnect of one user's sockets. */
  disconnectUser(userId: string): void {
    for (const socket of this.io?.sockets.sockets.values() ?? []) if (callerOf(socket).userId === userId) socket.disconnect(true);
  }

  async close(): Promise<void> {
    const io = this.io;
    this.io = undefined;
    if (!io) return;
    // No DISCONNECT packets: a server going down looks like a transport close to clients, which reconnect.
    await new Promise<void>((resolve) => {
      void io.close(() => resolve());
    });
  }

  /** `invocation_started|complete|error`: owner + admin, never the queue room (docs/protocol.md §2.1). */
  toOwnerAndAdmin(event: string, payload: Payload, owner: string): void {
    this.faults.dispatch(event, payload, () => {
      const io = this.io;
      if (!io) return;
      if (this.profile.duplicateDelivery) {
        // 6.12/6.13 emitted to each room separately: a socket in both gets two copies (docs/protocol.md §6.2).
        io.to(userRoom(owner)).emit(event, payload);
        io.to(ADMIN_ROOM).emit(event, payload);
      } else io.to([userRoom(owner), ADMIN_ROOM]).emit(event, payload);
    });
  }

  /** `invocation_progress`: the owner only at HEAD; 6.13 also sent the admin room a copy without image. */
  progress(event: string, payload: Payload, owner: string): void {
    this.faults.dispatch(event, payload, () => {
      const io = this.io;
      if (!io) return;
      io.to(userRoom(owner)).emit(event, payload);
      if (this.profile.duplicateDelivery) io.to(ADMIN_ROOM).emit(event, { ...payload, image: null });
    });
  }

  /**
   * Status/batch events: full to owner + admin; at HEAD a sanitized companion goes to the queue room minus
   * those sockets (docs/protocol.md §2.2). Full and companion are one logical emit for the fault injector.
   */
  toOwnerWithCompanion(event: string, full: Payload, sanitized: Payload, owner: string, queueId: string): void {
    this.faults.dispatch(event, full, () => {
      const io = this.io;
      if (!io) return;
      if (this.profile.duplicateDelivery) {
        io.to(userRoom(owner)).emit(event, full);
        io.to(ADMIN_ROOM).emit(event, full);
      } else io.to([userRoom(owner), ADMIN_ROOM]).emit(event, full);
      if (this.profile.sanitizedCompanions) io.to(queueId).except([userRoom(owner), ADMIN_ROOM]).emit(event, sanitized);
    });
  }

  /**
   * Bulk events (`queue_items_retried|canceled`): admins get the full event, each owner a copy scoped to its own
   * ids (`byOwner`), the rest of the queue room empty lists (docs/protocol.md §2.3).
   */
  toAdminWithQueueCompanion(event: string, full: Payload, empty: Payload, queueId: string, byOwner: ReadonlyMap<string, Payload> = new Map()): void {
    this.faults.dispatch(event, full, () => {
      const io = this.io;
      if (!io) return;
      if (!this.profile.sanitizedCompanions) {
        io.to(queueId).emit(event, full);
        return;
      }
      io.to(ADMIN_ROOM).emit(event, full);
      for (const [owner, scoped] of byOwner) io.to(userRoom(owner)).except(ADMIN_ROOM).emit(event, scoped);
      io.to(queueId)
        .except([...[...byOwner.keys()].map(userRoom), ADMIN_ROOM])
        .emit(event, empty);
    });
  }

  toQueueRoom(event: string, payload: Payload, queueId: string): void {
    this.faults.dispatch(event, payload, () => {
      this.io?.to(queueId).emit(event, payload);
    });
  }
}

function queueIdOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const q = (payload as Record<string, unknown>)['queue_id'];
  return typeof q === 'string' ? q : undefined;
}
