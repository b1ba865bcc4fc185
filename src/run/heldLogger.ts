import type { LogMessage, Logger } from '../log';

type Line = () => void;

/**
 * Holds info and debug lines until {@link HeldLogger.release}; {@link HeldLogger.drop} forgets them. `run` logs
 * through it until the server accepted the work, so input the server refuses ends with the one-line message of
 * exit 2 alone, not after "connected" chatter. Warnings and errors are never held (the held lines go first).
 */
export class HeldLogger implements Logger {
  private constructor(
    private readonly target: Logger,
    private readonly state: { held: Line[] | null },
  ) {}

  static wrap(target: Logger): HeldLogger {
    return new HeldLogger(target, { held: [] });
  }

  error(msg: LogMessage, meta?: Record<string, unknown>): void {
    this.release();
    this.target.error(msg, meta);
  }

  warn(msg: LogMessage, meta?: Record<string, unknown>): void {
    this.release();
    this.target.warn(msg, meta);
  }

  info(msg: LogMessage, meta?: Record<string, unknown>): void {
    this.hold(() => this.target.info(msg, meta));
  }

  debug(msg: LogMessage, meta?: Record<string, unknown>): void {
    this.hold(() => this.target.debug(msg, meta));
  }

  child(ns: string): Logger {
    return new HeldLogger(this.target.child(ns), this.state);
  }

  /** Writes the held lines and stops holding. */
  release(): void {
    const held = this.state.held;
    this.state.held = null;
    for (const line of held ?? []) line();
  }

  /** Forgets the held lines and stops holding. */
  drop(): void {
    this.state.held = null;
  }

  private hold(line: Line): void {
    if (this.state.held) this.state.held.push(line);
    else line();
  }
}
