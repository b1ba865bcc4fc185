import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Runs `scripts/bench.ts --quick` once, in a child process, against the built CLI (`npm test` builds first), and
 * checks the shape of its result: the last stdout line is one JSON object with every key a finite number.
 * Nothing about the timings is asserted (the machine is shared and noisy).
 */
const ROOT = join(__dirname, '../..');
const KEYS = ['p1_cpu_ratio', 'p1_cpu_ratio_with_progress', 'p2_p99_ms', 'p2_p50_ms', 'p3_bytes_ratio', 'p3_requests', 'p4_rss_growth_mb', 'p5_recovery_ms', 'p6_cpu_pct',
  'p7_stdout_p99_ms', 'p7_nats_p99_ms', 'p7_redis_p99_ms', 'p7_nats_records_per_s', 'p7_redis_records_per_s'];

function runQuickBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench.ts'), '--quick'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench -- --quick', () => {
  it('prints one JSON object with every key as a finite number on its last stdout line', async () => {
    expect(existsSync(join(ROOT, 'dist/cli.js'))).toBe(true);
    const { code, stdout, stderr } = await runQuickBench();
    const lines = stdout.trim().split('\n');
    let result: Record<string, unknown>;
    try {
      result = JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
    } catch {
      throw new Error(`last stdout line is not JSON:\n${stdout}\n--- stderr ---\n${stderr.slice(-3000)}`);
    }
    for (const key of KEYS) {
      const v = result[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${key} = ${String(v)}\n--- stderr ---\n${stderr.slice(-3000)}`);
    }
    expect(Object.keys(result).sort()).toEqual([...KEYS].sort());
    expect(code).toBe(0);
    // The table went to stderr.
    expect(stderr).toMatch(/p1 CPU ratio/);
  }, 180_000);
});
