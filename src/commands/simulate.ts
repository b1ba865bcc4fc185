import { OutputsError } from '../errors';
import { NdjsonWriter } from '../output/ndjson';
import { DEFAULT_ADMIN, PROFILES, startSimulator, type FaultAction, type Simulator } from '../simulator';
import { onceSignalled } from './common';

export interface SimulateFlags {
  port: number;
  base?: string;
  multiuser?: boolean;
  profile: string;
  nodeDelay?: number;
  fault?: string[];
}

const ACTIONS: readonly FaultAction[] = ['duplicate', 'drop', 'delay', 'reorder'];

/** `action:event[:count[:delayMs]]`, e.g. `delay:invocation_complete:5:200`. */
export function parseFault(spec: string): { action: FaultAction; event: string; count?: number; delayMs?: number } {
  const [action, event, count, delay] = spec.split(':');
  if (!ACTIONS.includes(action as FaultAction) || !event) {
    throw new OutputsError('BAD_USAGE', `--fault ${spec}: expected ${ACTIONS.join('|')}:<event>[:count[:delayMs]]`);
  }
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw new OutputsError('BAD_USAGE', `--fault ${spec}: ${what} must be a whole number`);
    return Number(v);
  };
  const c = num(count, 'count');
  const d = num(delay, 'delayMs');
  return { action: action as FaultAction, event, ...(c === undefined ? {} : { count: c }), ...(d === undefined ? {} : { delayMs: d }) };
}

/** `--profile` and `--multiuser` together: a profile older than multi-user mode cannot have it. */
function checkProfile(flags: SimulateFlags): void {
  const profile = PROFILES[flags.profile];
  if (!profile) {
    const known = Object.keys(PROFILES);
    throw new OutputsError('BAD_USAGE', `--profile: expected ${known.slice(0, -1).join(', ')} or ${known[known.length - 1] ?? ''}, got ${JSON.stringify(flags.profile)}`);
  }
  if (flags.multiuser && !profile.authStatusEndpoint) {
    throw new OutputsError('BAD_USAGE', `--multiuser: profile ${flags.profile} (InvokeAI ${profile.version}) predates multi-user mode (6.12)`);
  }
}

async function start(flags: SimulateFlags): Promise<Simulator> {
  try {
    return await startSimulator({
      port: flags.port,
      base: flags.base ?? '',
      profile: flags.profile,
      multiuser: flags.multiuser === true,
      ...(flags.nodeDelay === undefined ? {} : { nodeDelayMs: flags.nodeDelay }),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new OutputsError('BAD_USAGE', `--port: 127.0.0.1:${flags.port} is in use`);
    if (code === 'EACCES') throw new OutputsError('BAD_USAGE', `--port: not allowed to listen on 127.0.0.1:${flags.port}`);
    throw err;
  }
}

/** Runs the simulator until SIGINT/SIGTERM; its URL is the first stdout line. */
export async function runSimulate(flags: SimulateFlags): Promise<number> {
  checkProfile(flags);
  const faults = (flags.fault ?? []).map(parseFault);
  const sim = await start(flags);
  for (const f of faults) sim.faults.add(f);
  const writer = new NdjsonWriter();
  writer.write({ type: 'simulator', url: sim.url });
  process.stderr.write(`InvokeAI simulator (profile ${flags.profile}) listening on ${sim.url}\n`);
  if (flags.multiuser) process.stderr.write(`multi-user mode: the administrator is ${DEFAULT_ADMIN.email}, password ${DEFAULT_ADMIN.password}\n`);
  const signals = onceSignalled();
  await signals.promise;
  signals.dispose();
  await sim.close();
  await writer.flush();
  return 0;
}
