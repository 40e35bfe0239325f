/** Runs the built CLI (dist/) asynchronously: test fakes served from this process keep answering. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `within` runs the CLI as another view of the machine sees it (e.g. a node's mount namespace):
 * it maps the command line to the one to spawn.
 */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
  within: (cmd: string, args: readonly string[]) => { cmd: string; args: string[] } = (cmd, a) => ({ cmd, args: [...a] }),
): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first (npm test does)`);
  const spawned = within(process.execPath, [CLI, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(spawned.cmd, spawned.args, {
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tagdrift ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface RunningAgent {
  readonly url: string;
  readonly pid: number;
  /** Everything the agent wrote to stdout and stderr so far. */
  output(): string;
  exited(): boolean;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<number>;
}

/** Starts `tagdrift agent` from dist/ on a loopback port. */
export async function startAgent(args: readonly string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<RunningAgent> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first (npm test does)`);
  // Probes on a port of the system's choosing, so agents of parallel tests never collide on 9421.
  const probe = args.includes('--probe-listen') ? [] : ['--probe-listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, [CLI, 'agent', '--listen', `127.0.0.1:${port}`, ...probe, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.on('close', (code) => {
    exited = true;
    resolve(code ?? -1);
  }));
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  };
  const started = Date.now();
  for (;;) {
    if (exited) throw new Error(`agent exited at start:\n${out}`);
    try {
      if ((await get('/healthz')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(`agent did not listen within 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    output: () => out,
    exited: () => exited,
    get,
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}
