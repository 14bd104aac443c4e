// Puts a `preflight` binary where a platform-specific package carries it:
//   node scripts/bundle-server.mjs <path/to/preflight> <target>
// then `npx @vscode/vsce package --target <target>`. <target> is a vsce target such as
// linux-x64, linux-arm64, alpine-x64, darwin-arm64, win32-x64.
import { chmodSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

const TARGETS = [
  'linux-x64', 'linux-arm64', 'linux-armhf', 'alpine-x64', 'alpine-arm64',
  'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64',
];
const [binary, target] = process.argv.slice(2);
if (!binary || !TARGETS.includes(target)) {
  console.error(`usage: node scripts/bundle-server.mjs <path/to/preflight> <${TARGETS.join('|')}>`);
  process.exit(2);
}
const exe = target.startsWith('win32-') ? 'preflight.exe' : 'preflight';
if (basename(binary).endsWith('.exe') !== exe.endsWith('.exe')) {
  console.error(`${binary} does not look like a ${target} binary`);
  process.exit(2);
}
// One platform per package: drop binaries of other targets from earlier runs.
rmSync('bundled', { recursive: true, force: true });
const dir = join('bundled', 'bin', target);
mkdirSync(dir, { recursive: true });
copyFileSync(binary, join(dir, exe));
chmodSync(join(dir, exe), 0o755);
console.log(`bundled ${binary} as ${join(dir, exe)}`);
