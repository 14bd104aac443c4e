// Bundles the extension and vscode-languageclient into one file, so the .vsix carries no
// node_modules and needs no network at run time.
import { build } from 'esbuild';

const minify = process.argv.includes('--minify');

await build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  // Packages ship the minified bundle alone; development builds get a source map.
  sourcemap: !minify,
  minify,
  logLevel: 'warning',
});
