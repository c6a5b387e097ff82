// Builds src/ into ../internal/webui/dist: one hashed JS and one hashed CSS
// bundle (esbuild, minified) and an index.html that names them. Run by
// `make ui` after `npm ci`.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename } from 'node:path';

// UI_OUT (a directory ending in /) builds elsewhere, for make ui-check.
const out = process.env.UI_OUT || new URL('../internal/webui/dist/', import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const res = await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: out,
  entryNames: 'assets/[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

let js = '', css = '';
for (const f of Object.keys(res.metafile.outputs)) {
  if (f.endsWith('.js')) js = basename(f);
  if (f.endsWith('.css')) css = basename(f);
}
const html = readFileSync('src/index.html', 'utf8')
  .replace('%JS%', '/ui/assets/' + js)
  .replace('%CSS%', '/ui/assets/' + css);
writeFileSync(out + 'index.html', html);

let raw = 0, gz = 0;
for (const f of ['index.html', 'assets/' + js, 'assets/' + css]) {
  const b = readFileSync(out + f);
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
  console.log(`${f}: ${b.length} B, ${gzipSync(b, { level: 9 }).length} B gzipped`);
}
console.log(`total: ${raw} B, ${gz} B gzipped`);
