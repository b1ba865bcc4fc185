import type { SessionState } from './session';

/** `ItemStorageMemory(max_items=10)` of 3.x (item_storage_memory.py@3.7.0). */
const MAX_SESSIONS = 10;

/**
 * 3.x's `graph_execution_manager`: the sessions the processor took, in memory, the ten most recently used only, gone
 * when the server restarts (dependencies.py@3.7.0). It holds the running session itself, so a read shows every node
 * completed so far; `GET /sessions/{id}` of anything else raises `ItemNotFoundError`.
 */
export class LiveSessions {
  private readonly sessions = new Map<string, SessionState>();

  /** `set`: stores (or refreshes) a session as the most recently used. */
  set(session: SessionState): void {
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  /** `get`: the session, now the most recently used one; undefined when it is not kept. */
  get(id: string): SessionState | undefined {
    const s = this.sessions.get(id);
    if (s) this.set(s);
    return s;
  }

  /** The server went down: memory is gone. */
  clear(): void {
    this.sessions.clear();
  }
}
