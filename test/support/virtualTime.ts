import { TestScheduler } from 'rxjs/testing';

/** Lets every promise callback and pending I/O callback run (one turn of the event loop); not a timer. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A TestScheduler whose assertions fail the Jest test. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/**
 * Virtual time for components that mix the scheduler with promises (a sink's `accept`, `whenIdle`, the catch-up).
 * `TestScheduler.run()` flushes all virtual time in one synchronous pass, so a promise settled at frame 10 would
 * only be seen after the last frame; here time advances one due action at a time, and the event loop turns once
 * between actions, so each promise chain runs at the virtual time its cause fired. Times are the scheduler's frames
 * (1 frame = 1 ms, as the components read `scheduler.now()`).
 */
export class VirtualTime {
  readonly scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  now(): number {
    return this.scheduler.now();
  }

  /** Runs every action due up to `frame` (inclusive), in order, settling promises after each; then stands at `frame`. */
  async advanceTo(frame: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.scheduler.actions[0];
      if (!next || next.delay > frame) break;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
      await settle();
    }
    if (this.scheduler.frame < frame) this.scheduler.frame = frame;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.now() + ms);
  }
}
