// The pages' texts, read from the tables the server uses (crates/web/src/pages/texts*.rs), so
// a test asserts "the page shows the Chinese text for `security.title`" and survives rewording.

import { readdirSync, readFileSync } from 'node:fs';

const FOLDER = new URL('../../crates/web/src/pages/', import.meta.url);
const ENTRY = /\(\s*"([a-z0-9_.]+)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\)/g;

const table = new Map();
for (const name of readdirSync(FOLDER).filter((n) => /^texts.*\.rs$/.test(n))) {
  for (const [, key, en, zh] of readFileSync(new URL(name, FOLDER), 'utf8').matchAll(ENTRY)) {
    // The Rust source escapes quotes and backslashes; the page shows them plain.
    table.set(key, { en: en.replace(/\\(.)/g, '$1'), 'zh-CN': zh.replace(/\\(.)/g, '$1') });
  }
}
if (table.size < 100) throw new Error(`only ${table.size} texts read from ${FOLDER}; did the table's shape change?`);

/** The text under `key` in `lang` ('en' or 'zh-CN'). */
export function text(lang, key) {
  const entry = table.get(key);
  if (!entry) throw new Error(`no page text under ${key}`);
  return entry[lang];
}
