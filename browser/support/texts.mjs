// The pages' texts, read from the one table the server uses (crates/web/src/pages/texts.rs), so
// a test asserts "the page shows the Chinese text for `security.title`" and survives rewording.

import { readFileSync } from 'node:fs';

const SOURCE = new URL('../../crates/web/src/pages/texts.rs', import.meta.url);
const ENTRY = /\(\s*"([a-z0-9_.]+)",\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"\s*\)/g;

const table = new Map();
for (const [, key, en, zh] of readFileSync(SOURCE, 'utf8').matchAll(ENTRY)) {
  table.set(key, { en, 'zh-CN': zh });
}
if (table.size < 100) throw new Error(`only ${table.size} texts read from ${SOURCE}; did the table's shape change?`);

/** The text under `key` in `lang` ('en' or 'zh-CN'). */
export function text(lang, key) {
  const entry = table.get(key);
  if (!entry) throw new Error(`no page text under ${key}`);
  return entry[lang];
}
