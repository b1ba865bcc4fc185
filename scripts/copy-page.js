#!/usr/bin/env node
// Part of the build: tsc compiles only .ts, so the live page's sources (HTML, CSS, JS) are copied next to the
// compiled page loader, which inlines them at startup (src/sinks/http/page.ts).
const { cpSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const from = join(root, 'src', 'sinks', 'http', 'page');
const to = join(root, 'dist', 'sinks', 'http', 'page');
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true });
