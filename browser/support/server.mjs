// Starts `okwallet serve --demo` on a free port in a fresh data folder and reads the address it
// prints. The binary comes from OKWALLET_BIN (the Rust test sets it to the one cargo built), or
// the debug build next to this folder.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const BANNER = 'okwallet is running at ';
const START_TIMEOUT_MS = 60_000;

export const OKWALLET_BIN =
  process.env.OKWALLET_BIN ?? fileURLToPath(new URL('../../target/debug/okwallet', import.meta.url));

/** The caller's environment without any OKWALLET_* setting, so only ours apply. */
function cleanEnv(dataDir) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OKWALLET_')) env[key] = value;
  }
  env.OKWALLET_LOG = 'warn';
  env.OKWALLET_DATA_DIR = dataDir;
  return env;
}

/**
 * A running demo server: `url` is `http://localhost:<port>` (the cookies are Secure, which
 * browsers accept over plain HTTP only on localhost), `banner` is everything it printed first.
 * `env` adds OKWALLET_* settings of the story's own (e.g. a short address time-lock).
 */
export async function startServer({ env: extraEnv = {} } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'okwallet-browser-'));
  const env = { ...cleanEnv(dataDir), ...extraEnv };
  const child = spawn(
    OKWALLET_BIN,
    ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));

  let banner = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`okwallet serve did not say where it listens within 60 s:\n${banner}\n${stderr}`)),
      START_TIMEOUT_MS,
    );
    child.once('error', (e) => reject(new Error(`cannot start ${OKWALLET_BIN}: ${e.message}`)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`okwallet serve exited (${code}) before listening:\n${banner}\n${stderr}`));
    });
    // Reading goes on after the banner so the server never blocks on a full pipe.
    createInterface({ input: child.stdout }).on('line', (line) => {
      banner += `${line}\n`;
      if (line.startsWith(BANNER)) {
        clearTimeout(timer);
        resolve(line.slice(BANNER.length).split(/\s+/)[0].replace(/\/$/, ''));
      }
    });
  });

  return {
    url,
    banner,
    dataDir,
    /** Runs another okwallet command on the same data folder (e.g. `user add`). */
    async command(args, extraEnv = {}) {
      const { stdout } = await promisify(execFile)(OKWALLET_BIN, args, { env: { ...env, ...extraEnv } });
      return stdout;
    },
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
