// The demo as a visitor meets it, in Chinese and English, on a desktop and on a phone: the
// logins `serve --demo` prints work; a form posted without its CSRF token is refused; the demo
// admin, who has no second factor, is told why /admin stays closed; and an admin who turns on
// two-step verification gets into the console.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { eventually, launchChromium, Story, VARIANTS } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

let server;
let browser;
/** The demo logins by role, read from what `serve --demo` printed. */
const logins = {};

before(async () => {
  server = await startServer();
  browser = await launchChromium('demo');
  for (const match of server.banner.matchAll(/^\s+(user|admin)\s+(\S+@\S+)\s+(\S+)\s*$/gm)) {
    logins[match[1]] = { email: match[2], password: match[3] };
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('serve --demo prints the demo logins', () => {
  assert.deepEqual(logins, {
    user: { email: 'user@demo.okwallet.local', password: 'demo-user-2026' },
    admin: { email: 'admin@demo.okwallet.local', password: 'demo-admin-2026' },
  });
});

/** The amount available of `asset` on the dashboard, as a number. */
async function available(page, asset) {
  const row = page.locator('main tbody tr', { has: page.locator('th .code', { hasText: asset }) });
  return Number((await row.locator('td').first().innerText()).trim());
}

describe('the demo', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`demo logins, CSRF refusal and the admin console (${variant.lang}, ${variant.width})`, { timeout: 180_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'demo').open();
      t.after(() => s.close());
      const page = s.page;

      await s.step('the demo user logs in and sees the funded balances', async () => {
        await s.visit('/login');
        await s.expectHeading('login.title');
        const response = await s.logIn(logins.user.email, logins.user.password);
        assert.equal(response.status(), 200);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        assert.equal(await s.signedIn(), true);
        // The demo sends no mail: the navigation leads to the mailbox that shows it instead.
        const mailbox = page.getByRole('navigation').getByRole('link', { name: s.t('nav.mailbox'), exact: true });
        assert.equal(await mailbox.getAttribute('href'), '/dev/mailbox');
        assert.equal(await available(page, 'ETH'), 2.5);
        assert.equal(await available(page, 'USDT'), 10000);
        assert.equal(await available(page, 'BTC'), 0.1);
        await s.check('user-dashboard');
      });

      await s.step('a form posted without its CSRF token is refused', async () => {
        await s.visit('/security');
        await s.expectHeading('security.title');
        const section = page.locator('#anti-phishing');
        assert.equal(await section.locator('strong.code').count(), 0, 'no anti-phishing code yet');
        // Everything a forger could supply, but not the token only our page knows.
        const form = section.locator('form');
        await form.evaluate((f) => f.querySelector('input[name=csrf]').remove());
        assert.equal(await form.locator('input[name=csrf]').count(), 0);
        await section.getByLabel(s.t('security.ap.field'), { exact: true }).fill('forged code');
        await section.getByLabel(s.t('field.password'), { exact: true }).fill(logins.user.password);
        const response = await s.click(s.t('security.ap.submit'), { within: '#anti-phishing' });
        assert.equal(response.status(), 403);
        await s.expectHeading('csrf.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('csrf.body')));
        await s.check('csrf-refused');

        // The same from a script on the page, and for logging out: refused, nothing changed.
        const status = await page.evaluate(async () => {
          const r = await fetch('/logout', { method: 'POST', body: new URLSearchParams({}) });
          return r.status;
        });
        assert.equal(status, 403);
        await s.visit('/security');
        assert.equal(await s.signedIn(), true, 'still signed in');
        assert.equal(await page.locator('#anti-phishing strong.code').count(), 0, 'the code was not set');
      });

      await s.step('the demo admin without two-step verification is refused /admin and told why', async () => {
        await s.logOut();
        await s.logIn(logins.admin.email, logins.admin.password);
        await s.expectPath('/');
        await s.expectHeading('dashboard.title');
        const response = await s.click(s.t('nav.admin'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 403);
        await s.expectPath('/admin');
        await s.expectHeading('console.mfa.title');
        assert.ok((await page.locator('main').innerText()).includes(s.t('console.mfa.body')));
        const turnOn = page.locator('main').getByRole('link', { name: s.t('checklist.totp.action'), exact: true });
        assert.equal(await turnOn.getAttribute('href'), '/security#two-factor');
        await s.check('admin-needs-2fa');
      });

      await s.step('an admin with two-step verification opens the console', async () => {
        const email = `admin-${variant.lang.toLowerCase()}-${variant.width}@example.com`;
        const password = 'granite lantern orchard 2026';
        await server.command(['user', 'add', '--email', email, '--role', 'admin', '--locale', variant.lang], {
          OKWALLET_USER_PASSWORD: password,
        });
        await s.logOut();
        await s.logIn(email, password);
        await s.expectHeading('dashboard.title');
        await s.visit('/security');
        await s.click(s.t('security.totp.start'), { within: '#two-factor' });
        await s.expectPath('/security/totp');
        const app = new Authenticator(await page.locator('#totp-secret').getAttribute('data-secret'));
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        await s.click(s.t('totp.submit'), { within: 'main' });
        await s.expectHeading('recovery.title');

        const response = await s.click(s.t('nav.admin'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectPath('/admin');
        await s.expectHeading('admin.title');
        const rowOf = (who) => page.locator('main tbody tr', { has: page.locator('th', { hasText: who }) });
        assert.equal(await rowOf(logins.user.email).count(), 1, 'the demo user is listed');
        assert.ok((await rowOf(logins.admin.email).innerText()).includes(s.t('security.off')));
        const own = await rowOf(email).innerText();
        assert.ok(own.includes(s.t('role.admin')) && own.includes(s.t('security.on')), own);
        // Where the table is wider than the screen it scrolls inside its frame, and a keyboard
        // can do that too: the frame takes focus and the arrow keys move it.
        const frame = page.locator('main .table-wrap');
        const wide = await frame.evaluate((w) => w.scrollWidth > w.clientWidth);
        if (variant.width === 'phone') assert.ok(wide, 'four columns do not fit a phone');
        if (wide) {
          await frame.focus();
          for (let i = 0; i < 5; i += 1) await page.keyboard.press('ArrowRight');
          // Keyboard scrolling is animated: the frame moves over the next few frames, not at
          // once, so read where it ends up rather than where it is right after the key.
          assert.ok(await eventually(() => frame.evaluate((w) => w.scrollLeft > 0)), 'the arrow keys scroll the table');
        }
        await s.check('admin');
      });

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  }
});
