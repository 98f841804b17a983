// Deposits and withdrawals as the demo user meets them, in Chinese and English, on a desktop and
// on a phone: the deposit page shows the address (EIP-55, with its QR code, the network warning
// and the SIMULATED badge), a simulated deposit to it climbs through its confirmations (n / 6)
// on the page by itself and ends credited; a withdrawal to a newly added address (added with a
// step-up) is refused while the address's time-lock runs, and accepted once it has passed. A
// supervisor with two-step verification reviews a large withdrawal: each decision needs a fresh
// code, a rejection needs a note, and the customer sees it.
//
// The server runs with a 15-second address time-lock and 2-second simulated blocks, so the story
// sees both happen within seconds. All four variants share the demo user, so each one uses its
// own amounts and its own address, and finds its own lines by them.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { eventually, launchChromium, Story, VARIANTS } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

// Long enough for a busy machine to get from adding the address to withdrawing in time.
const LOCK_S = 15;
const BLOCK_S = 2;

let server;
let browser;
let user;

before(async () => {
  server = await startServer({
    env: { OKWALLET_ADDRESS_LOCK_S: String(LOCK_S), OKWALLET_SIM_BLOCK_TIME_S: String(BLOCK_S) },
  });
  browser = await launchChromium('wallet');
  const match = server.banner.match(/^\s+user\s+(\S+@\S+)\s+(\S+)\s*$/m);
  assert.ok(match, `the demo banner lists the demo user:\n${server.banner}`);
  user = { email: match[1], password: match[2] };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Calls the API as the demo user; answers the status and the JSON body. */
async function api(method, path, body, token) {
  const answer = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : null };
}

/** A bearer token for the demo user (the API never reads the page's cookie). */
async function apiToken() {
  const answer = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  assert.equal(answer.status, 201, await answer.clone().text());
  return (await answer.json()).token;
}

/** Sends a simulated deposit on the demo's chain; answers the transaction hash. */
async function simDeposit(address, asset, amount) {
  const answer = await fetch(`${server.url}/api/v1/sim/deposits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await apiToken()}` },
    body: JSON.stringify({ address, asset, amount }),
  });
  const body = await answer.json();
  assert.equal(answer.status, 201, JSON.stringify(body));
  assert.equal(body.simulated, true);
  return body.tx_hash;
}

const hasChinese = (text) => /[\u4e00-\u9fff]/.test(text);

describe('deposits and withdrawals', { concurrency: VARIANTS.length }, () => {
  VARIANTS.forEach((variant, index) => {
    test(`deposit confirmations and the address time-lock (${variant.lang}, ${variant.width})`, { timeout: 240_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'wallet').open();
      t.after(() => s.close());
      const page = s.page;
      const main = page.locator('main');
      // Amounts no other variant uses, so each finds its own lines.
      const depositAmount = `0.0${index + 1}23`;
      const withdrawAmount = `0.0${index + 1}`;

      await s.step('the demo user logs in and opens Deposit from the navigation', async () => {
        await s.visit('/login');
        await s.logIn(user.email, user.password);
        await s.expectHeading('dashboard.title');
        // The dashboard shows what is on its way too.
        const head = await main.locator('thead').first().innerText();
        assert.ok(head.includes(s.t('dashboard.incoming')), head);
        const response = await s.click(s.t('nav.deposit'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectPath('/deposit');
        await s.expectHeading('deposit.title');
      });

      let address;
      await s.step('the ETH deposit address: EIP-55, QR code, network warning, simulated', async () => {
        const eth = page.getByRole('navigation', { name: s.t('wallet.choose_asset') }).getByRole('link', { name: /^ETH/ });
        assert.equal(await eth.getAttribute('aria-current'), 'page', 'ETH is chosen first');
        address = await page.locator('#deposit-address').getAttribute('data-address');
        assert.match(address, /^0x[0-9a-fA-F]{40}$/);
        assert.ok(/[a-f]/.test(address.slice(2)) && /[A-F]/.test(address.slice(2)), `checksummed (mixed case): ${address}`);
        assert.equal((await page.locator('#deposit-address').innerText()).trim(), address);
        assert.equal(await main.locator('.qr svg').count(), 1, 'a QR code');
        assert.ok(await main.getByText(s.t('wallet.simulated'), { exact: true }).first().isVisible(), 'the SIMULATED badge');
        const warning = await main.getByRole('note').innerText();
        assert.ok(warning.includes('ETH') && warning.includes('ethereum'), warning);
        assert.equal(hasChinese(warning), s.lang === 'zh-CN', `the warning is in the page's language: ${warning}`);
        // Without script the list is refreshed by a link to this same page.
        const refresh = main.getByRole('link', { name: s.t('deposit.refresh'), exact: true });
        assert.equal(await refresh.getAttribute('href'), '/deposit?asset=ETH');
        await s.check('deposit');
      });

      await s.step('BTC has no network here: a polite "not available"', async () => {
        await s.click(/^BTC/, { role: 'link', within: 'main nav' });
        await s.expectPath('/deposit?asset=BTC');
        assert.ok((await main.innerText()).includes(s.t('deposit.not_available')));
        assert.equal(await page.locator('#deposit-address').count(), 0);
        await s.check('deposit-btc');
        await s.click(/^ETH/, { role: 'link', within: 'main nav' });
      });

      await s.step('a simulated deposit climbs through its confirmations by itself, then is credited', async () => {
        const hash = await simDeposit(address, 'ETH', depositAmount);
        // The page updates itself (app.js), replacing the lists while we look: each look reads
        // both lists at once, in the page.
        const look = () =>
          page.evaluate((hash) => {
            const find = (list) =>
              [...document.querySelectorAll(`${list} li`)].find((li) => li.textContent.toLowerCase().includes(hash.toLowerCase()));
            const pending = find('#pending');
            return pending
              ? {
                  progress: pending.querySelector('[data-confirmations]').textContent.trim(),
                  max: pending.querySelector('progress').getAttribute('max'),
                  text: pending.innerText,
                }
              : { credited: Boolean(find('#history')) };
          }, hash);
        const seen = [];
        let screenshot = false;
        const credited = await eventually(
          async () => {
            const now = await look();
            if (now.progress) {
              const m = now.progress.match(/^(\d+) \/ (\d+)$/);
              assert.ok(m, `progress text "n / N": ${now.progress}`);
              assert.equal(m[2], '6');
              assert.equal(now.max, '6');
              if (seen.at(-1) !== Number(m[1])) seen.push(Number(m[1]));
              assert.ok(now.text.includes(`${depositAmount} ETH`) && now.text.includes(s.t('deposit.eta')), now.text);
              if (!screenshot) {
                screenshot = true;
                await s.check('deposit-confirming');
              }
            }
            return now.credited;
          },
          { timeoutMs: 90_000, everyMs: 250 },
        );
        assert.ok(credited, `credited within 90 s; progress seen: ${seen.join(', ')}`);
        assert.ok(seen.length >= 2, `the confirmations advanced on the page: ${seen.join(' → ')}`);
        assert.deepEqual([...seen].sort((a, b) => a - b), seen, `confirmations only go up: ${seen.join(' → ')}`);
        const done = page.locator('#history li', { hasText: hash });
        assert.equal(await done.getAttribute('data-status'), 'credited');
        const text = await done.innerText();
        assert.ok(text.includes(`${depositAmount} ETH`) && text.includes('6 / 6'), text);
        assert.equal(hasChinese(text), s.lang === 'zh-CN', `status texts in the page's language: ${text}`);
        t.diagnostic(`${s.label}: confirmations seen ${seen.join(' → ')} / 6`);
        await s.check('deposit-credited');
      });

      const newAddress = `0x${randomBytes(20).toString('hex')}`;
      const label = `Cold ${variant.lang} ${variant.width}`;
      const entry = () => page.locator('#address-book li', { hasText: label });
      await s.step('the withdraw page shows balances, limits and fee, and an address is added with a step-up', async () => {
        const response = await s.click(s.t('nav.withdraw'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectHeading('withdraw.title');
        const limits = await page.locator('#withdraw-form dl.limits').innerText();
        for (const [key, value] of [['withdraw.min', '0.001 ETH'], ['withdraw.fee', '0.0005 ETH'], ['withdraw.daily_limit', '50 ETH'], ['withdraw.review_above', '10 ETH']]) {
          assert.ok(limits.includes(s.t(key)) && limits.includes(value), `${key} ${value} in ${limits}`);
        }
        const book = page.locator('#address-book');
        await book.getByLabel(s.t('book.address'), { exact: true }).fill(newAddress);
        await book.getByLabel(s.t('book.label'), { exact: true }).fill(label);
        // The demo user has no second factor: the password proves it is them.
        await book.getByLabel(s.t('field.password'), { exact: true }).fill(user.password);
        const added = await s.click(s.t('book.add'), { within: '#address-book' });
        assert.equal(added.status(), 200);
        assert.equal(new URL(page.url()).searchParams.get('notice'), 'address_added');
        assert.equal(await s.message('status'), s.t('book.added'));
        assert.equal(await entry().locator('[data-usable]').getAttribute('data-usable'), 'no', 'still in its waiting period');
        assert.equal((await entry().getAttribute('data-address')).toLowerCase(), newAddress);
        await s.check('address-added');
      });

      await s.step('withdrawing to the new address at once is refused: the time-lock', async () => {
        const checksummed = await entry().getAttribute('data-address');
        const form = page.locator('form#withdraw');
        await form.getByLabel(s.t('withdraw.address'), { exact: true }).selectOption(checksummed);
        await form.getByLabel(`${s.t('withdraw.amount')} (ETH)`, { exact: true }).fill(withdrawAmount);
        const response = await s.click(s.t('withdraw.submit'), { within: 'form#withdraw' });
        assert.equal(response.status(), 409);
        const alert = page.locator('main [role=alert]:visible');
        assert.equal(await alert.getAttribute('data-code'), 'address_time_locked');
        const text = await s.message();
        assert.equal(hasChinese(text), s.lang === 'zh-CN', `the refusal is in the page's language: ${text}`);
        await s.check('withdraw-time-locked');
      });

      await s.step('the fee preview: amount + fee = total debited', async () => {
        // The refused form kept the chosen address and amount.
        const form = page.locator('form#withdraw');
        assert.equal(await form.getByLabel(`${s.t('withdraw.amount')} (ETH)`, { exact: true }).inputValue(), withdrawAmount);
        assert.equal(await form.getByLabel(s.t('withdraw.address'), { exact: true }).inputValue(), await entry().getAttribute('data-address'));
        await s.click(s.t('withdraw.preview'), { within: 'form#withdraw' });
        const preview = await page.locator('#fee-preview').innerText();
        const total = (Number(withdrawAmount) + 0.0005).toFixed(4).replace(/0+$/, '');
        assert.ok(preview.includes(`${withdrawAmount} ETH`) && preview.includes('0.0005 ETH') && preview.includes(`${total} ETH`), preview);
        assert.ok(preview.includes(s.t('withdraw.total')), preview);
        await s.check('withdraw-preview');
      });

      await s.step('once the time-lock has passed the same withdrawal is accepted', async () => {
        const usable = await eventually(
          async () => {
            await s.visit('/withdraw?asset=ETH');
            return (await entry().locator('[data-usable]').getAttribute('data-usable')) === 'yes';
          },
          { timeoutMs: (LOCK_S + 20) * 1000, everyMs: 1000 },
        );
        assert.ok(usable, 'the address became usable');
        const checksummed = await entry().getAttribute('data-address');
        const form = page.locator('form#withdraw');
        await form.getByLabel(s.t('withdraw.address'), { exact: true }).selectOption(checksummed);
        await form.getByLabel(`${s.t('withdraw.amount')} (ETH)`, { exact: true }).fill(withdrawAmount);
        const response = await s.click(s.t('withdraw.submit'), { within: 'form#withdraw' });
        assert.equal(response.status(), 200);
        assert.ok(new URL(page.url()).searchParams.get('done'), `back on the page with the withdrawal: ${page.url()}`);
        assert.ok((await s.message('status')).startsWith(s.t('withdraw.done')));
        const mine = page.locator('#history li', { hasText: checksummed });
        assert.equal(await mine.count(), 1);
        const status = await mine.getAttribute('data-status');
        assert.ok(['requested', 'signed', 'broadcast', 'confirming', 'completed'].includes(status), status);
        assert.ok((await mine.innerText()).includes(`${withdrawAmount} ETH`));
        await s.check('withdraw-accepted');
      });

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  });
});

/**
 * A withdrawal above the review threshold (10 ETH), made through the API as the demo user: a
 * simulated deposit to cover it, a new address in the book (stepped up with the password), and
 * the withdrawal once both are ready. Answers the destination address.
 */
async function largeWithdrawal(amount) {
  const token = await apiToken();
  const deposit = await api('POST', '/api/v1/deposit-addresses', { asset: 'ETH' }, token);
  assert.equal(deposit.status, 200, JSON.stringify(deposit.body));
  const hash = await simDeposit(deposit.body.address, 'ETH', String(Number(amount) + 1));
  assert.equal((await api('POST', '/api/v1/me/step-up', { password: user.password }, token)).status, 200);
  const to = `0x${randomBytes(20).toString('hex')}`;
  const added = await api('POST', '/api/v1/withdrawal-addresses', { asset: 'ETH', address: to, label: 'review' }, token);
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const ready = await eventually(
    async () => {
      const deposits = await api('GET', '/api/v1/deposits', undefined, token);
      const credited = deposits.body.items.some((d) => d.tx_hash === hash && d.status === 'credited');
      const book = await api('GET', '/api/v1/withdrawal-addresses', undefined, token);
      return credited && book.body.items.some((e) => e.id === added.body.id && e.usable_now);
    },
    { timeoutMs: 90_000, everyMs: 500 },
  );
  assert.ok(ready, 'the deposit is credited and the address usable');
  const made = await api('POST', '/api/v1/withdrawals', { asset: 'ETH', address: to, amount }, token);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.status, 'under_review');
  return added.body.address;
}

describe('the withdrawal review', { concurrency: 2 }, () => {
  const variants = [
    { lang: 'zh-CN', width: 'phone', decision: 'approve' },
    { lang: 'en', width: 'desktop', decision: 'reject' },
  ];
  for (const variant of variants) {
    test(`a supervisor ${variant.decision}s a large withdrawal (${variant.lang}, ${variant.width})`, { timeout: 240_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'review').open();
      t.after(() => s.close());
      const page = s.page;
      const waiting = largeWithdrawal('10.5');

      const email = `supervisor-${variant.lang.toLowerCase()}-${variant.width}@example.com`;
      const password = 'granite lantern orchard 2026';
      let app;
      await s.step('a supervisor turns on two-step verification', async () => {
        await server.command(['user', 'add', '--email', email, '--role', 'supervisor', '--locale', variant.lang], {
          OKWALLET_USER_PASSWORD: password,
        });
        await s.visit('/login');
        await s.logIn(email, password);
        await s.visit('/security');
        await s.click(s.t('security.totp.start'), { within: '#two-factor' });
        app = new Authenticator(await page.locator('#totp-secret').getAttribute('data-secret'));
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        await s.click(s.t('totp.submit'), { within: 'main' });
        await s.expectHeading('recovery.title');
      });

      const to = await waiting;
      const item = () => page.locator('main li', { hasText: to });
      await s.step('the queue lists the withdrawal with the customer masked', async () => {
        const response = await s.click(s.t('nav.review'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectPath('/admin/withdrawals');
        await s.expectHeading('review.title');
        const text = await item().innerText();
        assert.ok(text.includes('10.5 ETH') && text.includes('us***@demo.okwallet.local'), text);
        assert.ok(!text.includes(user.email), 'the full email is not shown');
        await s.check('queue');
      });

      let code;
      await s.step('rejecting without a note is refused before the code is spent', async () => {
        code = await app.nextCode();
        await item().getByLabel(s.t('field.otp'), { exact: true }).fill(code);
        const response = await s.click(s.t('review.reject'), { within: `main li:has-text("${to}")` });
        assert.equal(response.status(), 422);
        assert.equal(await page.locator('main [role=alert]:visible').getAttribute('data-code'), 'note_required');
        assert.ok((await s.message()).includes(s.t('review.note_missing.body')));
        assert.equal(await item().count(), 1, 'still waiting');
        await s.check('note-required');
      });

      await s.step(`the supervisor ${variant.decision}s it`, async () => {
        const note = variant.decision === 'reject' ? 'Please confirm this address with support first.' : 'Checked with the customer.';
        await item().getByLabel(s.t('review.note'), { exact: true }).fill(note);
        // The code was not spent by the refusal: it still works once.
        await item().getByLabel(s.t('field.otp'), { exact: true }).fill(code);
        const button = variant.decision === 'reject' ? s.t('review.reject') : s.t('review.approve');
        const response = await s.click(button, { within: `main li:has-text("${to}")` });
        assert.equal(response.status(), 200);
        assert.equal(await s.message('status'), s.t(variant.decision === 'reject' ? 'review.rejected' : 'review.approved'));
        assert.equal(await item().count(), 0, 'no longer waiting');
        await s.check('decided');
        if (variant.decision === 'reject') {
          // The customer sees the rejection, its reason and the supervisor's note.
          await s.logOut();
          await s.logIn(user.email, user.password);
          await s.visit('/withdraw?asset=ETH');
          const mine = page.locator('#history li', { hasText: to });
          assert.equal(await mine.getAttribute('data-status'), 'rejected');
          assert.ok((await mine.innerText()).includes(note));
          await s.check('customer-sees-rejection');
        }
      });

      s.finish(t);
    });
  }
});
