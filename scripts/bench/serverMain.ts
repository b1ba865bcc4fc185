/*
 * Child process hosting a fleet of synthetic servers, driven by the benchmark over IPC:
 * `{id, cmd, ...args}` in, `{id, result}` or `{id, error}` out. Exits when the parent goes away.
 */
import { Fleet, type RunSpec } from './fakeServer';
import { loadTemplates } from './payloads';

type Msg = { id: number; cmd: string } & Record<string, unknown>;

const templates = loadTemplates();
const fleet = new Fleet(templates);

async function handle(m: Msg): Promise<unknown> {
  switch (m.cmd) {
    case 'start':
      return { ports: await fleet.start(m['servers'] as number), sizes: templates.sizes };
    case 'run':
      return fleet.run(m['spec'] as RunSpec);
    case 'stopRun':
      fleet.stop();
      return null;
    case 'drained':
      return fleet.drained(m['ms'] as number);
    case 'times': {
      const t = fleet.times.splice(0);
      return t;
    }
    case 'stats':
      return fleet.stats();
    case 'lastCreated':
      return fleet.servers.map((s) => s.lastCreated);
    case 'close':
      await fleet.close();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: Msg) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, result }),
    (err: unknown) => process.send?.({ id: m.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, result: 'ready' });
