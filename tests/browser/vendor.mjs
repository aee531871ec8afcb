// Copies the browser libraries the desk and the wallboard use from node_modules into
// src/web/assets/vendor/ (served as /assets/vendor/...), or with --check verifies that the
// vendored copies are byte for byte the installed packages' files.
//
//   cd tests/browser && npm ci && node vendor.mjs          # (re)vendor
//   node tests/browser/vendor.mjs --check                  # exit 1 when a copy differs

import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const modules = join(here, 'node_modules');
const vendor = join(repo, 'src', 'web', 'assets', 'vendor');

// vendored name -> source inside node_modules
const FILES = {
  'preact-htm.mjs': 'htm/preact/standalone.module.js', // preact + hooks + htm, no bare imports
  'uplot.mjs': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

const check = process.argv.includes('--check');
const problems = [];

for (const [name, source] of Object.entries(FILES)) {
  const from = join(modules, source);
  const to = join(vendor, name);
  if (!existsSync(from)) {
    problems.push(`${source} is not installed: run "npm ci" in ${relative(process.cwd(), here) || '.'}`);
    continue;
  }
  const wanted = readFileSync(from);
  if (check) {
    if (!existsSync(to)) problems.push(`${relative(repo, to)} is missing (vendored from node_modules/${source})`);
    else if (!readFileSync(to).equals(wanted)) problems.push(`${relative(repo, to)} differs from node_modules/${source}`);
  } else {
    mkdirSync(vendor, { recursive: true });
    writeFileSync(to, wanted);
    console.log(`vendored node_modules/${source} -> ${relative(repo, to)}`);
  }
}

if (problems.length) {
  for (const p of problems) console.error(`vendor check: ${p}`);
  if (check) console.error('vendor check: run "node tests/browser/vendor.mjs" to vendor the installed versions');
  process.exit(1);
}
if (check) console.log('vendor check: every vendored file matches node_modules');
