// The demo's mailbox as a person uses it: follow the navigation's "Demo mailbox" link, look for
// the newest mail to your address that carries the link you are waiting for (refreshing while
// it has not arrived: some mail is queued a moment after the page that triggered it), and read
// or follow it.

import assert from 'node:assert/strict';

import { eventually } from './story.mjs';

/**
 * Opens the mailbox from the navigation and finds the newest mail to `to` carrying a link to
 * `path` (e.g. `/reset-password`). Answers `{ mail, subject, lines, link, lang }`: the
 * mail's locator, its subject, its body's lines, the link's locator and the language the page
 * marks the mail in. With `screenshot`, the
 * mailbox goes through `check` under that name.
 */
export async function findMail(s, { to, path, screenshot }) {
  const page = s.page;
  await s.click(s.t('nav.mailbox'), { role: 'link', within: 'nav' });
  await s.expectPath('/dev/mailbox');
  await s.expectHeading('mailbox.title');
  const mails = page.locator('main article.mail').filter({
    has: page.locator('p.help', { hasText: `${s.t('mailbox.to')} ${to} ·` }),
  });
  const mail = mails.filter({ has: page.locator(`ul.links a[href^="${s.url(path)}?token="]`) }).first();
  const arrived = await eventually(async () => {
    if ((await mail.count()) > 0) return true;
    await page.reload();
    return false;
  }, { timeoutMs: 10_000, everyMs: 250 });
  assert.ok(arrived, `${s.label}: a mail to ${to} with a ${path} link is in the mailbox`);
  if (screenshot) await s.check(screenshot);
  const link = mail.locator(`ul.links a[href^="${s.url(path)}?token="]`);
  assert.equal(await link.count(), 1, `${s.label}: the mail carries one ${path} link`);
  const subject = (await mail.locator('h2').innerText()).trim();
  const lines = (await mail.locator('pre').innerText()).split('\n').map((l) => l.trim());
  // The link shown under the mail is the one written in it.
  assert.ok(lines.includes(await link.getAttribute('href')), `${s.label}: the ${path} link is in the mail's text`);
  // The mail is in its recipient's language, which need not be the page's, and says so, for
  // screen readers.
  const lang = await mail.locator('pre').getAttribute('lang');
  assert.equal(await mail.locator('h2').getAttribute('lang'), lang, `${s.label}: subject and body share a language`);
  return { mail, subject, lines, link, lang };
}

/** Follows a link found by `findMail`, as a click, and waits for the page it opens. */
export async function followMailLink(s, link) {
  return s.navigate(() => link.click());
}
