// A customer who adds a passkey, in Chinese and English, on a desktop and on a phone: the
// security centre adds it (the password proves who is there, since there is no authenticator
// app), it signs in without a password, it is the second step after a password log-in, and it
// proves who is there when it is removed; once removed it signs in no more. The "device" is
// Chromium's virtual authenticator (support/passkey.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addVirtualAuthenticator } from './support/passkey.mjs';
import { startServer } from './support/server.mjs';
import { launchChromium, Story, VARIANTS } from './support/story.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchChromium('passkey');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const HAN = /[\u4e00-\u9fff]/;

/** The checklist item under `key` on the page, and whether it is marked done. */
async function checklistDone(s, key) {
  const item = s.page.locator('main .checklist li', { hasText: s.t(key) });
  assert.equal(await item.count(), 1, `${s.label}: the checklist lists ${key}`);
  return (await item.getAttribute('class')) === 'done';
}

describe('a customer with a passkey', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`adds a passkey, signs in with it, uses it as the second step and removes it (${variant.lang}, ${variant.width})`, { timeout: 180_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'passkey').open();
      t.after(() => s.close());
      const page = s.page;
      const email = `passkey-${variant.lang.toLowerCase()}-${variant.width}@example.com`;
      const password = 'amber compass meadow 2026';
      const name = variant.lang === 'en' ? `My ${variant.width}` : `我的${variant.width === 'phone' ? '手机' : '电脑'}`;
      const passkeys = page.locator('#passkeys ul.passkeys li');
      let device;

      await s.step('the server is reached as localhost, the passkey domain', async () => {
        assert.match(server.url, /^http:\/\/localhost:\d+$/);
        device = await addVirtualAuthenticator(s);
        assert.deepEqual(await device.credentials(), [], 'the device holds no passkey yet');
      });

      await s.step('sign up and log in with the password', async () => {
        await s.visit('/signup');
        await page.getByLabel(s.t('field.email'), { exact: true }).fill(email);
        await page.getByLabel(s.t('field.new_password'), { exact: true }).fill(password);
        await s.click(s.t('signup.submit'), { within: 'main' });
        await s.expectHeading('signup.done.title');
        await s.click(s.t('nav.login'), { role: 'link', within: 'main' });
        await s.expectPath('/login');
        const response = await s.logIn(email, password);
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        assert.equal(await s.signedIn(), true);
      });

      await s.step('the security centre offers a passkey, proved with the password', async () => {
        await s.click(s.t('nav.security'), { role: 'link', within: 'nav' });
        await s.expectPath('/security');
        const section = page.locator('#passkeys');
        assert.equal((await section.locator('h2').innerText()).trim(), s.t('security.passkeys.title'));
        assert.equal(await passkeys.count(), 0, 'no passkey listed');
        assert.equal(await checklistDone(s, 'checklist.passkey'), false);
        // No authenticator app, so the password is the proof the form asks for.
        assert.equal(await section.getByLabel(s.t('field.password'), { exact: true }).count(), 1);
        assert.equal(await section.getByLabel(s.t('field.otp'), { exact: true }).count(), 0);
        await s.check('security');
      });

      await s.step('add a passkey: the device makes it, the centre lists it by name', async () => {
        const section = page.locator('#passkeys');
        await section.getByLabel(s.t('security.passkeys.name'), { exact: true }).fill(name);
        await section.getByLabel(s.t('field.password'), { exact: true }).fill(password);
        const response = await s.click(s.t('security.passkeys.add'), { within: '#passkeys' });
        assert.equal(response.status(), 200);
        await s.expectPath('/security/passkeys');
        await s.expectHeading('security.title');
        assert.equal(await s.message('status'), s.t('security.passkeys.added'));
        assert.equal(await passkeys.count(), 1, 'one passkey listed');
        assert.equal((await passkeys.locator('strong').innerText()).trim(), name);
        assert.equal(await checklistDone(s, 'checklist.passkey'), true);
        assert.ok((await page.locator('#log').innerText()).includes(s.t('event.passkey_added')));
        const held = await device.credentials();
        assert.equal(held.length, 1, 'the device holds one passkey');
        assert.equal(held[0].rpId, 'localhost');
        assert.equal(held[0].isResidentCredential, true, 'a discoverable passkey: no email needed to use it');
        await s.check('security-passkey-added');
      });

      await s.step('sign in with the passkey alone, no password', async () => {
        await s.logOut();
        await s.expectPath('/login');
        assert.equal(await s.signedIn(), false);
        const button = page.locator('main').getByRole('button', { name: s.t('passkey.sign_in'), exact: true });
        assert.ok(await button.isVisible(), 'the log-in page offers the passkey');
        await s.check('login');
        const response = await s.click(s.t('passkey.sign_in'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        assert.equal(await s.signedIn(), true);
        await s.check('dashboard-after-passkey');
      });

      await s.step('after the password, the second step asks for the passkey only', async () => {
        await s.logOut();
        await s.logIn(email, password);
        await s.expectPath('/login/verify?next=/');
        await s.expectHeading('verify.title');
        assert.equal(await s.signedIn(), false, 'not signed in on the password alone');
        const main = page.locator('main');
        assert.ok((await main.innerText()).includes(s.t('verify.passkey_lead')));
        assert.equal(await main.getByRole('button', { name: s.t('passkey.use'), exact: true }).count(), 1);
        // No authenticator app: no code to type, and no button for one.
        assert.equal(await main.getByLabel(s.t('field.otp'), { exact: true }).count(), 0);
        assert.equal(await main.getByRole('button', { name: s.t('verify.submit'), exact: true }).count(), 0);
        await s.check('login-verify-passkey');

        const response = await s.click(s.t('passkey.use'), { within: 'main' });
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        assert.equal(await s.signedIn(), true);
      });

      await s.step('remove the passkey, with the passkey as proof', async () => {
        await s.click(s.t('nav.security'), { role: 'link', within: 'nav' });
        await s.expectPath('/security');
        const item = passkeys.filter({ hasText: name });
        const form = item.locator('form');
        assert.equal(await form.isVisible(), false, 'the remove form is folded away');
        await item.locator('summary', { hasText: s.t('security.passkeys.remove') }).click();
        assert.equal(await form.isVisible(), true);
        // The passkey is now the proof: no password to type, the page says the device will ask.
        assert.ok((await form.innerText()).includes(s.t('proof.passkey')));
        assert.equal(await form.getByLabel(s.t('field.password'), { exact: true }).count(), 0);
        await s.check('security-passkey-remove');

        // The page answers where the form posted, with the centre and a notice.
        const action = new URL(await form.getAttribute('action'), server.url).pathname;
        const response = await s.navigate(() =>
          form.getByRole('button', { name: s.t('security.passkeys.remove'), exact: true }).click(),
        );
        assert.equal(response.status(), 200);
        await s.expectPath(action);
        await s.expectHeading('security.title');
        assert.equal(await s.message('status'), s.t('security.passkeys.removed'));
        assert.equal(await passkeys.count(), 0, 'the passkey is gone from the list');
        assert.equal(await checklistDone(s, 'checklist.passkey'), false);
        assert.ok((await page.locator('#log').innerText()).includes(s.t('event.passkey_removed')));
        // Without a passkey, adding one is proved with the password again.
        const add = page.locator('#passkey-add-form');
        assert.equal(await add.getByLabel(s.t('field.password'), { exact: true }).count(), 1);
        await s.check('security-passkey-removed');
      });

      await s.step('the removed passkey no longer signs in', async () => {
        await s.logOut();
        assert.equal((await device.credentials()).length, 1, 'the device still holds it');
        const response = await s.click(s.t('passkey.sign_in'), { within: 'main' });
        assert.ok(response.status() >= 400, `refused with ${response.status()}`);
        await s.expectHeading('login.title');
        assert.equal(await s.signedIn(), false);
        const alert = await s.message();
        assert.ok(alert.length > 0, 'the page says why');
        if (variant.lang === 'zh-CN') assert.match(alert, HAN, alert);
        else assert.doesNotMatch(alert, HAN, alert);
        await s.check('login-passkey-refused');
      });

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  }
});
