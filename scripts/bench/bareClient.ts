/*
 * The CPU baseline: a bare socket.io-client that connects like the watcher does, subscribes to the queue and only
 * receives the same events (socket.io JSON-parses every packet); it counts them and does nothing else.
 * Usage: node --import tsx bareClient.ts <url>. Reports its counts over IPC when asked.
 */
import { io } from 'socket.io-client';

const url = process.argv[2];
if (!url) throw new Error('usage: bareClient <url>');

// The names the watcher listens to (src/invoke/wire.ts QUEUE_EVENT_NAMES), plus progress: both sockets receive and
// parse it (socket.io decodes every packet), only the watcher has no handler for it.
const NAMES = ['invocation_started', 'invocation_complete', 'invocation_error', 'queue_item_status_changed', 'queue_items_canceled', 'queue_cleared', 'invocation_progress'];
const counts: Record<string, number> = {};

const socket = io(url, { path: '/ws/socket.io', transports: ['websocket', 'polling'], tryAllTransports: true });
for (const name of NAMES) {
  socket.on(name, (payload: unknown) => {
    if (payload !== null) counts[name] = (counts[name] ?? 0) + 1;
  });
}
socket.on('connect', () => {
  void socket.timeout(5000).emitWithAck('subscribe_queue', { queue_id: 'default' }).then(
    () => process.send?.({ id: 0, result: 'subscribed' }),
    () => undefined,
  );
});

process.on('message', (m: { id: number; cmd: string }) => {
  if (m.cmd === 'counts') process.send?.({ id: m.id, result: counts });
  else if (m.cmd === 'close') {
    socket.close();
    process.send?.({ id: m.id, result: null });
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
