// A new customer's first day, in Chinese and English, on a desktop and on a phone: sign up (a
// weak password first), log in, turn on an authenticator app, log out and back in with the
// second step, set an anti-phishing code, freeze the account, and switch the language.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { launchChromium, Story, VARIANTS } from './support/story.mjs';
import { Authenticator, currentStep, totp } from './support/totp.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchChromium('account');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const HAN = /[\u4e00-\u9fff]/;

/** Asserts that a message the server wrote is in the page's language. */
function assertLanguage(message, lang) {
  assert.ok(message.length > 0, 'the message is not empty');
  if (lang === 'zh-CN') assert.match(message, HAN, `a Chinese message: ${message}`);
  else assert.doesNotMatch(message, HAN, `an English message: ${message}`);
}

/** A six-digit code that is wrong for every step the server would accept now. */
function wrongCode(secret) {
  const now = currentStep();
  const near = new Set([-1, 0, 1, 2].map((d) => totp(secret, now + d)));
  return ['000000', '111111', '222222'].find((c) => !near.has(c));
}

// The four stories run side by side: each waits up to 30 s for its authenticator's clock, and
// those waits need not add up.
describe('a new customer', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`signs up, turns on two-step verification, freezes and switches language (${variant.lang}, ${variant.width})`, { timeout: 240_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'account').open();
      t.after(() => s.close());
      const page = s.page;
      const email = `customer-${variant.lang.toLowerCase()}-${variant.width}@example.com`;
      const password = 'violet harbour kettle 2026';
      const phrase = variant.lang === 'en' ? 'blue dolphin 42' : '蓝色海豚 42';
      let app;
      let recoveryCodes;

      await s.step('the landing page invites to sign up', async () => {
        const response = await s.visit('/');
        assert.equal(response.status(), 200);
        await s.expectHeading('landing.title');
        assert.equal(await s.signedIn(), false);
        await s.check('landing');
        await s.click(s.t('nav.signup'), { role: 'link', within: 'main' });
        await s.expectPath('/signup');
        await s.expectHeading('signup.title');
        await s.check('signup');
      });

      await s.step('a weak password is refused with advice', async () => {
        await page.getByLabel(s.t('field.email'), { exact: true }).fill(email);
        await page.getByLabel(s.t('field.new_password'), { exact: true }).fill('password1234');
        const response = await s.click(s.t('signup.submit'), { within: 'main' });
        assert.equal(response.status(), 422);
        await s.expectPath('/signup');
        await s.expectHeading('signup.title');
        const alert = page.locator('main [role=alert]');
        assertLanguage((await alert.locator('p').first().innerText()).trim(), variant.lang);
        const advice = await alert.locator('li').allInnerTexts();
        assert.ok(advice.length >= 1, 'the alert lists what would make the password stronger');
        for (const line of advice) assertLanguage(line, variant.lang);
        assert.equal(
          await page.getByLabel(s.t('field.email'), { exact: true }).inputValue(),
          email,
          'the email typed is kept',
        );
        await s.check('signup-weak-password');
      });

      await s.step('a strong password creates the account', async () => {
        await page.getByLabel(s.t('field.new_password'), { exact: true }).fill(password);
        const response = await s.click(s.t('signup.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectHeading('signup.done.title');
        assert.equal((await page.locator('main p').first().innerText()).trim(), s.t('signup.done.body'));
        await s.check('signup-done');
      });

      await s.step('log in with the new password', async () => {
        await s.click(s.t('nav.login'), { role: 'link', within: 'main' });
        await s.expectPath('/login');
        await s.expectHeading('login.title');
        await s.check('login');
        const response = await s.logIn(email, password);
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        assert.equal(await s.signedIn(), true);
        // Four things to do, in the order they matter, none done yet.
        const items = page.locator('main .checklist li');
        const labels = ['checklist.email', 'checklist.totp', 'checklist.passkey', 'checklist.anti_phishing'];
        assert.equal(await items.count(), labels.length);
        for (const [i, key] of labels.entries()) {
          const item = items.nth(i);
          assert.equal(await item.getAttribute('class'), 'todo', key);
          const shown = await item.innerText();
          assert.ok(shown.includes(s.t(key)), `checklist item ${i + 1} is ${key}: ${shown}`);
          assert.ok(shown.includes(s.t(`${key}.action`)), `${key} offers ${key}.action: ${shown}`);
        }
        await s.check('dashboard');
      });

      await s.step('turn on an authenticator app and see ten recovery codes', async () => {
        await s.click(s.t('nav.security'), { role: 'link', within: 'nav' });
        await s.expectPath('/security');
        await s.expectHeading('security.title');
        const section = page.locator('#two-factor');
        assert.ok((await section.innerText()).includes(s.t('security.totp.off')));
        await s.check('security');

        await s.click(s.t('security.totp.start'), { within: '#two-factor' });
        await s.expectPath('/security/totp');
        await s.expectHeading('totp.title');
        assert.ok(await page.locator('main .qr svg').isVisible(), 'the QR code is shown');
        const secret = await page.locator('#totp-secret').getAttribute('data-secret');
        assert.match(secret, /^[A-Z2-7]{16,}$/);
        assert.equal((await page.locator('#totp-secret').innerText()).replace(/\s/g, ''), secret);
        await s.check('totp-setup');

        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(wrongCode(secret));
        let response = await s.click(s.t('totp.submit'), { within: 'main' });
        assert.equal(response.status(), 422, 'a wrong code is refused');
        await s.expectHeading('totp.title');
        assertLanguage(await s.message(), variant.lang);
        await s.check('totp-wrong-code');

        app = new Authenticator(secret);
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        response = await s.click(s.t('totp.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectHeading('recovery.title');
        assert.equal(await s.message('status'), s.t('recovery.enabled'));
        recoveryCodes = (await page.locator('#recovery-codes li').allInnerTexts()).map((c) => c.trim());
        assert.equal(recoveryCodes.length, 10);
        assert.equal(new Set(recoveryCodes).size, 10, 'the recovery codes differ');
        await s.check('recovery-codes');

        await s.click(s.t('recovery.done'), { role: 'link', within: 'main' });
        await s.expectPath('/security');
        const on = await page.locator('#two-factor').innerText();
        assert.ok(on.includes(s.t('security.totp.on')), on);
        assert.ok(on.includes(`${s.t('security.recovery_left')} 10`), on);
        await s.check('security-2fa-on');
      });

      await s.step('log out, then log in with the password and the next code', async () => {
        await s.logOut();
        await s.expectPath('/login');
        assert.equal(await s.signedIn(), false);
        await s.visit('/security');
        await s.expectPath('/login?next=/security');
        await s.expectHeading('login.title');
        await s.logIn(email, password);
        await s.expectPath('/login/verify?next=/security');
        await s.expectHeading('verify.title');
        assert.equal(await s.signedIn(), false, 'not signed in before the second step');
        await s.check('login-verify');
        // The step used at enrolment cannot be used again: the app's next code is.
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        const response = await s.click(s.t('verify.submit'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectPath('/security');
        await s.expectHeading('security.title');
        assert.equal(await s.signedIn(), true);
      });

      await s.step('set an anti-phishing code with a fresh code', async () => {
        const section = page.locator('#anti-phishing');
        await section.getByLabel(s.t('security.ap.field'), { exact: true }).fill(phrase);
        await section.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        const response = await s.click(s.t('security.ap.submit'), { within: '#anti-phishing' });
        assert.equal(response.status(), 200);
        assert.equal(await s.message('status'), s.t('security.anti_phishing.done'));
        assert.equal(await section.locator('strong.code').innerText(), phrase);
        const done = page.locator('main .checklist li.done');
        assert.equal(await done.filter({ hasText: s.t('checklist.anti_phishing') }).count(), 1);
        await s.check('security-anti-phishing-set');
      });

      await s.step('freezing asks first, and cancelling changes nothing', async () => {
        await s.visit('/security');
        const asked = page.waitForEvent('dialog');
        const clicked = page.locator('#freeze').getByRole('button', { name: s.t('security.freeze.submit') }).click();
        const dialog = await asked;
        assert.equal(dialog.type(), 'confirm');
        assert.equal(dialog.message(), s.t('security.freeze.confirm'));
        await dialog.dismiss();
        await clicked;
        await s.expectPath('/security');
        assert.equal(await s.signedIn(), true);
        assert.ok(!(await page.locator('#freeze').innerText()).includes(s.t('frozen.banner')));
      });

      await s.step('freeze: signed out everywhere', async () => {
        let asked = '';
        page.once('dialog', (dialog) => {
          asked = dialog.message();
          dialog.accept();
        });
        const response = await s.click(s.t('security.freeze.submit'), { within: '#freeze' });
        assert.equal(asked, s.t('security.freeze.confirm'));
        assert.equal(response.status(), 200);
        await s.expectHeading('frozen.done.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('frozen.done.body')));
        assert.equal(await s.signedIn(), false);
        await s.check('frozen');
        await s.visit('/security');
        await s.expectPath('/login?next=/security');
      });

      await s.step('logging in again (with a recovery code) shows the account frozen', async () => {
        await s.logIn(email, password);
        await s.expectPath('/login/verify?next=/security');
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(recoveryCodes[0]);
        await s.click(s.t('verify.submit'), { within: 'main' });
        await s.expectPath('/security');
        const freeze = await page.locator('#freeze').innerText();
        assert.ok(freeze.includes(s.t('frozen.banner')), freeze);
        assert.equal(
          await page.locator('#freeze').getByRole('button', { name: s.t('security.unfreeze.submit') }).count(),
          1,
          'the unfreeze form is offered',
        );
        const twoFactor = await page.locator('#two-factor').innerText();
        assert.ok(twoFactor.includes(`${s.t('security.recovery_left')} 9`), twoFactor);
        const log = await page.locator('#log').innerText();
        for (const kind of ['event.frozen', 'event.recovery_code_used', 'event.anti_phishing_code_set', 'event.mfa_enabled']) {
          assert.ok(log.includes(s.t(kind)), `the security log shows ${kind}`);
        }
        await s.check('security-frozen');

        await s.click(s.t('nav.home'), { role: 'link', within: 'nav' });
        await s.expectHeading('dashboard.title');
        assert.ok((await s.message()).includes(s.t('frozen.banner')));
        await s.check('dashboard-frozen');
      });

      await s.step('switch the language; the choice is remembered', async () => {
        const other = variant.lang === 'en' ? 'zh-CN' : 'en';
        await s.click(s.t('nav.other_lang'), { role: 'link', within: 'nav' });
        await s.expectPath('/');
        assert.equal(await s.htmlLang(), other);
        assert.equal(await s.heading(), s.t('dashboard.title', other));
        await s.check(`dashboard-switched-to-${other}`, { lang: other });

        // Remembered on the next page and in a new tab, though the browser still asks for the
        // first language.
        await s.visit('/security');
        assert.equal(await s.htmlLang(), other);
        assert.equal(await s.heading(), s.t('security.title', other));
        const tab = await s.context.newPage();
        await tab.goto(s.url('/'));
        assert.equal(await tab.locator('html').getAttribute('lang'), other);
        await tab.close();

        await s.click(s.t('nav.other_lang', other), { role: 'link', within: 'nav' });
        await s.expectPath('/security');
        assert.equal(await s.htmlLang(), variant.lang);
        await s.expectHeading('security.title');
      });

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  }
});
