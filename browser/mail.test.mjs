// What okwallet's mail lets a customer do, read in the demo's mailbox, in Chinese and English, on
// a desktop and on a phone: verify the address from the sign-up mail, reset a forgotten password
// from the reset mail (which, like every mail after an anti-phishing code is set, starts with
// that code), and freeze the account from the new-login mail in another browser, which signs
// the first one out. Every mail link opens a page with one button: opening it does nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { findMail, followMailLink } from './support/mailbox.mjs';
import { startServer } from './support/server.mjs';
import { launchChromium, Story, VARIANTS } from './support/story.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchChromium('mail');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const HAN = /[\u4e00-\u9fff]/;

/** Asserts that a text the server wrote (a mail's subject, an alert) is in `lang`. */
function assertLanguage(message, lang) {
  assert.ok(message.length > 0, 'the text is not empty');
  if (lang === 'zh-CN') assert.match(message, HAN, `Chinese: ${message}`);
  else assert.doesNotMatch(message, HAN, `English: ${message}`);
}

/** The buttons in the page's main part, by their names. */
async function mainButtons(s) {
  return (await s.page.locator('main').getByRole('button').allInnerTexts()).map((b) => b.trim());
}

/** Asserts a mail opens with the anti-phishing code: its first line shows it, as set. */
function assertOpensWithCode(mail, phrase, what) {
  const first = mail.lines.find((l) => l.length > 0);
  assert.ok(first.endsWith(phrase), `the ${what} mail's first line shows the anti-phishing code: ${first}`);
}

describe('a customer and their mail', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`verifies the email, resets the password and freezes from a mail link (${variant.lang}, ${variant.width})`, { timeout: 180_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'mail').open();
      t.after(() => s.close());
      const page = s.page;
      const email = `mail-${variant.lang.toLowerCase()}-${variant.width}@example.com`;
      const oldPassword = 'copper lighthouse willow 2026';
      const newPassword = 'saffron glacier tandem 2027';
      const phrase = variant.lang === 'en' ? 'red kite 7' : '红色风筝 7';

      await s.step('sign up; the verification mail arrives in the demo mailbox', async () => {
        await s.visit('/signup');
        await page.getByLabel(s.t('field.email'), { exact: true }).fill(email);
        await page.getByLabel(s.t('field.new_password'), { exact: true }).fill(oldPassword);
        await s.click(s.t('signup.submit'), { within: 'main' });
        await s.expectHeading('signup.done.title');
        const mail = await findMail(s, { to: email, path: '/verify-email' });
        assertLanguage(mail.subject, variant.lang);
        assert.equal(mail.lang, variant.lang, 'the mail is marked in its language');
        assert.ok(!mail.lines.join('\n').includes(phrase), 'no anti-phishing code yet');

        await followMailLink(s, mail.link);
        assert.match(s.path(), /^\/verify-email\?token=[\w-]+$/);
        await s.expectHeading('link.verify.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('link.verify.lead')));
        assert.deepEqual(await mainButtons(s), [s.t('link.verify.submit')], 'one button, nothing done yet');
        await s.check('verify-email');
      });

      await s.step('the button verifies the email', async () => {
        const response = await s.click(s.t('link.verify.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectHeading('link.verify.done.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('link.verify.done.body')));
        await s.check('email-verified');
      });

      await s.step('log in: the security centre shows the email verified', async () => {
        await s.visit('/login');
        await s.logIn(email, oldPassword);
        await s.expectPath('/');
        await s.click(s.t('nav.security'), { role: 'link', within: 'nav' });
        await s.expectPath('/security');
        const section = page.locator('#email');
        assert.equal((await section.locator('.badge').innerText()).trim(), s.t('security.email.verified'));
        assert.equal(await section.getByRole('button').count(), 0, 'no link to send again');
        const item = page.locator('main .checklist li', { hasText: s.t('checklist.email') });
        assert.equal(await item.getAttribute('class'), 'done');
        assert.ok((await page.locator('#log').innerText()).includes(s.t('event.email_verified')));
        await s.check('security-email-verified');
      });

      await s.step('set an anti-phishing code, proved with the password', async () => {
        const section = page.locator('#anti-phishing');
        await section.getByLabel(s.t('security.ap.field'), { exact: true }).fill(phrase);
        await section.getByLabel(s.t('field.password'), { exact: true }).fill(oldPassword);
        const response = await s.click(s.t('security.ap.submit'), { within: '#anti-phishing' });
        assert.equal(response.status(), 200);
        assert.equal(await s.message('status'), s.t('security.anti_phishing.done'));
        assert.equal(await section.locator('strong.code').innerText(), phrase);
      });

      await s.step('forgot the password: ask for a reset link', async () => {
        await s.logOut();
        await s.expectPath('/login');
        await s.click(s.t('login.forgot'), { role: 'link', within: 'main' });
        await s.expectPath('/forgot-password');
        await s.expectHeading('forgot.title');
        await s.check('forgot-password');
        await page.getByLabel(s.t('field.email'), { exact: true }).fill(email);
        const response = await s.click(s.t('forgot.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectHeading('forgot.sent.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('forgot.sent.body')));
        await s.check('forgot-password-sent');
      });

      await s.step('the reset mail starts with the anti-phishing code; its link sets a new password', async () => {
        const mail = await findMail(s, { to: email, path: '/reset-password', screenshot: 'mailbox' });
        assertLanguage(mail.subject, variant.lang);
        assert.equal(mail.lang, variant.lang, 'the mail is marked in its language');
        assertOpensWithCode(mail, phrase, 'reset');

        await followMailLink(s, mail.link);
        assert.match(s.path(), /^\/reset-password\?token=[\w-]+$/);
        await s.expectHeading('reset.title');
        await s.check('reset-password');
        await page.getByLabel(s.t('field.new_password'), { exact: true }).fill(newPassword);
        const response = await s.click(s.t('reset.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectHeading('reset.done.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('reset.done.body')));
        assert.equal(await s.signedIn(), false);
        await s.check('password-changed');
      });

      await s.step('the old password is refused, the new one works', async () => {
        await s.click(s.t('nav.login'), { role: 'link', within: 'main' });
        await s.expectPath('/login');
        let response = await s.logIn(email, oldPassword);
        assert.equal(response.status(), 401);
        await s.expectHeading('login.title');
        assertLanguage(await s.message(), variant.lang);
        assert.equal(await s.signedIn(), false);
        await s.check('login-old-password-refused');

        response = await s.logIn(email, newPassword);
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        assert.equal(await s.signedIn(), true);
      });

      // Another browser, say the mail app on the customer's phone, where the new-login mail is read.
      const other = await new Story(browser, server.url, variant, 'mail').open();
      other.label = `${s.label} (second browser)`;
      t.after(() => other.close());

      await s.step('the new-login mail, read elsewhere, starts with the code; its freeze link asks first', async () => {
        await other.visit('/');
        const mail = await findMail(other, { to: email, path: '/freeze' });
        assertLanguage(mail.subject, variant.lang);
        assert.equal(mail.lang, variant.lang, 'the mail is marked in its language');
        assertOpensWithCode(mail, phrase, 'new-login');

        await followMailLink(other, mail.link);
        assert.match(other.path(), /^\/freeze\?token=[\w-]+$/);
        await other.expectHeading('link.freeze.title');
        assert.ok((await other.page.locator('main').innerText()).includes(other.t('link.freeze.lead')));
        assert.deepEqual(await mainButtons(other), [other.t('security.freeze.submit')], 'one button');
        await other.check('freeze-link');

        // Opening the link froze nothing: the first browser is still signed in.
        await s.visit('/security');
        await s.expectPath('/security');
        assert.equal(await s.signedIn(), true);
        assert.ok(!(await page.locator('#freeze').innerText()).includes(s.t('frozen.banner')));
      });

      await s.step('the button freezes the account and signs the first browser out', async () => {
        const response = await other.click(other.t('security.freeze.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await other.expectHeading('frozen.done.title');
        assert.ok((await other.page.locator('main').innerText()).includes(other.t('frozen.done.body')));
        await other.check('freeze-link-done');

        await s.visit('/security');
        await s.expectPath('/login?next=/security');
        assert.equal(await s.signedIn(), false, 'the first browser was signed out');
        await s.logIn(email, newPassword);
        await s.expectPath('/security');
        assert.ok((await page.locator('#freeze').innerText()).includes(s.t('frozen.banner')));
        assert.ok((await page.locator('#log').innerText()).includes(s.t('event.frozen')));
        await s.check('security-frozen-by-link');
      });

      s.finish(t);
      other.finish(t);
      t.diagnostic(`${s.screenshots.length + other.screenshots.length} screenshots`);
    });
  }
});
