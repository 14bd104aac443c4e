// Finding the `preflight` binary: the `preflight.path` setting, else the binary bundled in a
// platform-specific .vsix, else `preflight` on PATH (or in ~/.cargo/bin, where `cargo install`
// puts it and where a login shell's PATH may not reach). Every miss is explained to the user.

import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The oldest server this extension works with: the first with the settings and document
 *  kinds it sends. */
export const MINIMUM_SERVER_VERSION = '0.1.0';

export type ServerSource = 'setting' | 'bundled' | 'PATH';

export interface FoundServer {
  command: string;
  source: ServerSource;
  version: string;
}

/** A failure with a message for the user and what to do about it. */
export class ServerProblem extends Error {
  constructor(message: string, readonly opensSettings: boolean) {
    super(message);
  }
}

const EXE = process.platform === 'win32' ? 'preflight.exe' : 'preflight';

/** The names of `bundled/bin/<target>` this machine can run, in the order of `vsce package
 *  --target` (alpine builds are static musl binaries, so they also run on glibc Linux). */
export function bundledTargets(): string[] {
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  const targets = [`${process.platform}-${arch}`];
  if (process.platform === 'linux') {
    targets.push(`alpine-${arch}`);
  }
  return targets;
}

function isExecutable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function onPath(env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d.length > 0);
  dirs.push(path.join(os.homedir(), '.cargo', 'bin'));
  for (const dir of dirs) {
    const candidate = path.join(dir, EXE);
    if (isExecutable(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** `preflight --version` prints `preflight 0.1.0`. */
export function parseVersion(output: string): string | undefined {
  return /^preflight (\d+\.\d+\.\d+\S*)/m.exec(output.trim())?.[1];
}

/** Compares dotted numeric versions (`0.10.0` > `0.9.1`); a pre-release suffix is ignored. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) => v.split(/[-+]/)[0].split('.').map((n) => Number.parseInt(n, 10) || 0);
  const a = parts(version);
  const b = parts(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) {
      return x > y;
    }
  }
  return true;
}

function runVersion(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${error.message}${stderr ? `: ${stderr.trim()}` : ''}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

const INSTALL_HINT =
  'Install it (`cargo install --path server` in a Preflight checkout) or set `preflight.path` to the binary.';

export async function findServer(
  configuredPath: string,
  extensionDir: string,
  log: (line: string) => void,
): Promise<FoundServer> {
  let command: string | undefined;
  let source: ServerSource;
  if (configuredPath.trim() !== '') {
    command = expandHome(configuredPath.trim());
    source = 'setting';
    if (!isExecutable(command)) {
      throw new ServerProblem(
        `Preflight: \`preflight.path\` is set to ${command}, which is not an executable file.`,
        true,
      );
    }
  } else {
    source = 'bundled';
    for (const target of bundledTargets()) {
      const candidate = path.join(extensionDir, 'bundled', 'bin', target, EXE);
      if (isExecutable(candidate)) {
        command = candidate;
        break;
      }
    }
    if (command === undefined) {
      source = 'PATH';
      command = onPath(process.env);
    }
    if (command === undefined) {
      throw new ServerProblem(
        `Preflight: no \`preflight\` binary found (this extension bundles none for ${bundledTargets()[0]}, and there is none on PATH or in ~/.cargo/bin). ${INSTALL_HINT}`,
        true,
      );
    }
  }
  log(`server binary: ${command} (from ${source})`);
  let output: string;
  try {
    output = await runVersion(command);
  } catch (e) {
    throw new ServerProblem(
      `Preflight: \`${command} --version\` failed (${(e as Error).message}). ${INSTALL_HINT}`,
      source === 'setting',
    );
  }
  const version = parseVersion(output);
  if (version === undefined) {
    throw new ServerProblem(
      `Preflight: ${command} does not look like Preflight (\`--version\` printed "${output.trim().slice(0, 80)}").`,
      source === 'setting',
    );
  }
  if (!versionAtLeast(version, MINIMUM_SERVER_VERSION)) {
    throw new ServerProblem(
      `Preflight: ${command} is version ${version}; this extension needs ${MINIMUM_SERVER_VERSION} or newer. Update it, or set \`preflight.path\` to a newer binary.`,
      true,
    );
  }
  log(`server version: ${version}`);
  return { command, source, version };
}
