/*
 * Preloaded into the watcher child by the benchmark (node -r scripts/bench/probe.js [--expose-gc] dist/cli.js watch …)
 * when a scenario needs to look inside it over IPC: memory after a full GC, CPU usage, a CPU profile of a chosen
 * window (V8 inspector), stdout writes and sink acknowledgements (diagnostics_channel) time-stamped. The CLI itself is unchanged; the IPC channel is unref'd so it keeps nothing alive.
 */
const inspector = require('node:inspector');
const diagnostics = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');

let session;
/** [time, head of the line] of every stdout write while stamping is on. */
let stamps = null;
const realWrite = process.stdout.write;
const stamped = function (chunk, ...rest) {
  const r = realWrite.call(this, chunk, ...rest);
  if (stamps !== null) stamps.push([performance.timeOrigin + performance.now(), String(chunk).slice(0, 160)]);
  return r;
};
/** [time, sink name, head of the line] of every record a sink's broker acknowledged while stamping acks. */
let acks = null;
const SINK_DELIVERED = 'invokeai-outputs:sink:delivered';
const onAck = (m) => {
  if (acks !== null) acks.push([performance.timeOrigin + performance.now(), m.sink, m.head]);
};
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));

async function handle(m) {
  switch (m.cmd) {
    case 'mem': {
      const before = process.memoryUsage();
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      }
      return { before, after: process.memoryUsage() };
    }
    case 'cpu':
      return process.cpuUsage();
    case 'profStart':
      session = new inspector.Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
      return null;
    case 'profStop': {
      const { profile } = await post('Profiler.stop');
      writeFileSync(m.file, JSON.stringify(profile));
      session.disconnect();
      return m.file;
    }
    case 'stampStart':
      stamps = [];
      process.stdout.write = stamped;
      return null;
    case 'stampStop': {
      const out = stamps ?? [];
      stamps = null;
      process.stdout.write = realWrite;
      return out;
    }
    case 'ackStart':
      acks = [];
      diagnostics.subscribe(SINK_DELIVERED, onAck);
      return null;
    case 'ackCount':
      return acks === null ? 0 : acks.length;
    case 'ackStop': {
      const out = acks ?? [];
      acks = null;
      diagnostics.unsubscribe(SINK_DELIVERED, onAck);
      return out;
    }
    default:
      throw new Error(`unknown probe command ${m.cmd}`);
  }
}

if (process.send) {
  process.on('message', (m) => {
    if (!m || typeof m.cmd !== 'string') return;
    handle(m).then(
      (result) => process.send({ id: m.id, result }),
      (err) => process.send({ id: m.id, error: String(err) }),
    );
  });
  process.channel.unref();
}
