// Paying, converting and the history as the demo user meets them, in Chinese and English, on a
// desktop and on a phone. A merchant makes a payment request through the API; the customer opens
// the link signed out, logs in from it, comes back to it, checks who asks (masked), how much and
// for what, and pays; the link then says it is paid, a second tab's stale Pay button is refused
// as already paid, and the merchant's API agrees. A conversion from USDT to ETH shows its locked
// price (rate, fee, what arrives, "simulated"), goes through, and moves the balances by exactly
// what it said. The history lists both, its CSV export (downloaded as a person would, then
// parsed: byte-order mark, RFC 4180 quoting) has its header in the page's language and both
// entries completed, and an entry's "get help with this" page shows its reference.
//
// All four variants share the demo user, so each uses its own amounts and finds its own entries
// by their ids. The suites run one after the other: the history story reads what the payment
// and conversion stories of its variant made.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { launchChromium, Story, VARIANTS } from './support/story.mjs';

// Four browsers on a two-core machine: minutes, not seconds.
const STORY_TIMEOUT_MS = 300_000;

let server;
let browser;
/** The demo logins by role, read from what `serve --demo` printed. */
const logins = {};
/** What each variant's earlier stories made, by the variant's index: ids and amounts. */
const made = VARIANTS.map(() => ({}));

before(async () => {
  server = await startServer();
  browser = await launchChromium('payments');
  for (const match of server.banner.matchAll(/^\s+(user|merchant)\s+(\S+@\S+)\s+(\S+)\s*$/gm)) {
    logins[match[1]] = { email: match[2], password: match[3] };
  }
  assert.ok(logins.user && logins.merchant, `the demo banner lists the user and the merchant:\n${server.banner}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A bearer token for a demo login (the API never reads the page's cookie). */
async function apiToken({ email, password }) {
  const answer = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(answer.status, 201, await answer.clone().text());
  return (await answer.json()).token;
}

/** Calls the API with `token`; answers the status and the JSON body. */
async function api(method, path, token, body) {
  const answer = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : null };
}

/** The demo user's available balance per asset, as the API gives it (decimal strings). */
async function balances(token) {
  const answer = await api('GET', '/api/v1/balances', token);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return Object.fromEntries(answer.body.items.map((b) => [b.asset, b.available]));
}

// Money as the pages and the API show it: decimal strings, compared exactly as integers of
// 10^-18 (no asset here has more decimals).
const SCALE = 18;

function minor(text) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  assert.ok(m && (m[3] ?? '').length <= SCALE, `a decimal amount: ${text}`);
  const value = BigInt(m[2] + (m[3] ?? '').padEnd(SCALE, '0'));
  return m[1] ? -value : value;
}

function decimal(value) {
  const sign = value < 0n ? '-' : '';
  const digits = (value < 0n ? -value : value).toString().padStart(SCALE + 1, '0');
  const fraction = digits.slice(-SCALE).replace(/0+$/, '');
  return `${sign}${digits.slice(0, -SCALE)}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Only one conversion story at a time compares balances: the variants share the demo user, so
 * another variant's conversion landing between "before" and "after" would be counted as ours.
 */
let purse = Promise.resolve();
function holdingThePurse(fn) {
  const run = purse.then(fn);
  purse = run.catch(() => {});
  return run;
}

/** Runs `fn` with the story looking at `page` (another tab of its browser), then looks back. */
async function inTab(s, page, fn) {
  const own = s.page;
  s.page = page;
  try {
    return await fn();
  } finally {
    s.page = own;
  }
}

/** The dt → dd pairs of the description list `list` (a locator), as shown. */
async function facts(list) {
  return list.evaluate((dl) =>
    Object.fromEntries(
      [...dl.querySelectorAll('dt')].map((dt) => [dt.innerText.trim(), dt.nextElementSibling?.innerText.trim() ?? '']),
    ),
  );
}

const hasChinese = (text) => /[\u4e00-\u9fff]/.test(text);

/** The items of `list` (a locator) whose text runs out of their box instead of wrapping. */
async function overflowing(list) {
  return list.evaluate((dl) =>
    [...dl.querySelectorAll('dd')].filter((dd) => dd.scrollWidth > dd.clientWidth + 1).map((dd) => dd.innerText.trim()),
  );
}

/** `someone@example.com` as the pages show another person: its first two letters, then `***`. */
const masked = (email) => `${email.slice(0, 2)}***${email.slice(email.indexOf('@'))}`;

describe('paying a payment link', { concurrency: VARIANTS.length }, () => {
  VARIANTS.forEach((variant, index) => {
    test(`a payment link, paid once (${variant.lang}, ${variant.width})`, { timeout: STORY_TIMEOUT_MS }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'payments').open();
      t.after(() => s.close());
      const page = s.page;
      const main = page.locator('main');
      // An amount and an order no other variant uses.
      const amount = `1${index}.2${index + 1}`;
      const orderId = `order-${variant.lang}-${variant.width}-${randomBytes(3).toString('hex')}`;
      const description = variant.lang === 'en' ? `Green tea, two boxes (${variant.width})` : `绿茶两盒（${variant.width}）`;
      const merchantToken = await apiToken(logins.merchant);

      let request;
      await s.step('the merchant makes a payment request through the API', async () => {
        const answer = await api('POST', '/api/v1/payment-requests', merchantToken, {
          asset: 'USDT',
          amount,
          description,
          order_id: orderId,
        });
        assert.equal(answer.status, 201, JSON.stringify(answer.body));
        request = answer.body;
        assert.equal(request.status, 'open');
        assert.equal(request.url, s.url(`/pay/${request.id}`));
        assert.equal(request.step_up_required, false, 'a small payment needs no fresh second factor');
      });

      await s.step('the link, opened signed out, shows who asks, how much and for what', async () => {
        const response = await s.visit(`/pay/${request.id}`);
        assert.equal(response.status(), 200);
        await s.expectHeading('pay.title');
        const card = page.locator('#request');
        assert.ok((await card.locator('h2').innerText()).includes(`${amount} USDT`));
        assert.equal(await card.locator('[data-status]').getAttribute('data-status'), 'open');
        const shown = await facts(card.locator('dl.facts'));
        assert.equal(shown[s.t('pay.merchant')], masked(logins.merchant.email), JSON.stringify(shown));
        assert.equal(shown[s.t('pay.description')], description);
        assert.equal(shown[s.t('pay.order_id')], orderId);
        assert.deepEqual(await overflowing(card.locator('dl.facts')), [], 'every fact fits its column');
        assert.ok(!(await main.innerText()).includes(logins.merchant.email), 'the merchant\'s full email is not shown');
        assert.equal(await card.locator('.qr svg').count(), 1, 'a QR code of the link');
        assert.equal(await page.locator('form#pay').count(), 0, 'no Pay button before logging in');
        await s.check('pay-signed-out');
      });

      let stale;
      await s.step('"log in to pay" logs in and comes back to the link', async () => {
        await s.click(s.t('pay.login'), { role: 'link', within: 'main' });
        await s.expectHeading('login.title');
        const response = await s.logIn(logins.user.email, logins.user.password);
        assert.equal(response.status(), 200);
        await s.expectPath(`/pay/${request.id}`);
        assert.equal(await s.signedIn(), true);
        const button = page.getByRole('button', { name: `${s.t('pay.submit')} ${amount} USDT`, exact: true });
        assert.equal(await button.count(), 1, 'the Pay button names the amount');
        // The same link in a second tab, left open with its Pay button.
        stale = await s.context.newPage();
        stale.on('pageerror', (e) => s.pageErrors.push(String(e)));
        await stale.goto(s.url(`/pay/${request.id}`));
        await s.check('pay');
      });

      let paymentId;
      await s.step('Pay: the money goes and the link says paid', async () => {
        const response = await s.click(`${s.t('pay.submit')} ${amount} USDT`, { within: 'form#pay' });
        assert.equal(response.status(), 200);
        const url = new URL(page.url());
        assert.equal(url.pathname, `/pay/${request.id}`);
        paymentId = url.searchParams.get('paid');
        assert.ok(paymentId, `the page names the payment: ${page.url()}`);
        const done = (await page.locator('#done').innerText()).trim();
        assert.ok(done.startsWith(s.t('pay.done')) && done.includes(`${amount} USDT`), done);
        assert.equal(hasChinese(done), s.lang === 'zh-CN', `the notice is in the page's language: ${done}`);
        assert.equal(await page.locator('#request [data-status]').getAttribute('data-status'), 'paid');
        assert.equal(await page.locator('form#pay').count(), 0, 'no Pay button any more');
        await s.check('pay-paid');
      });

      await s.step('opened again, the link still says paid and offers nothing to pay', async () => {
        const response = await s.visit(`/pay/${request.id}`);
        assert.equal(response.status(), 200);
        assert.equal(await page.locator('#request [data-status]').getAttribute('data-status'), 'paid');
        assert.equal(await page.locator('form#pay').count(), 0);
        assert.equal(await page.locator('#done').count(), 0, 'no "paid" notice without the payment in the address');
      });

      await s.step('the second tab\'s Pay button is refused: already paid, nothing moves twice', async () => {
        await inTab(s, stale, async () => {
          const response = await s.click(`${s.t('pay.submit')} ${amount} USDT`, { within: 'form#pay' });
          assert.equal(response.status(), 409);
          const alert = stale.locator('main [role=alert]:visible');
          assert.equal(await alert.getAttribute('data-code'), 'already_paid');
          const text = await s.message();
          assert.equal(hasChinese(text), s.lang === 'zh-CN', `the refusal is in the page's language: ${text}`);
          assert.equal(await stale.locator('#request [data-status]').getAttribute('data-status'), 'paid');
          await s.check('pay-again');
        });
      });

      await s.step('the merchant\'s API says paid, by this payment, by the masked customer', async () => {
        const answer = await api('GET', `/api/v1/payment-requests/${request.id}`, merchantToken);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.status, 'paid');
        assert.equal(answer.body.amount, amount);
        assert.equal(answer.body.order_id, orderId);
        assert.equal(answer.body.payer, masked(logins.user.email));
        assert.ok(answer.body.paid_at, 'a time it was paid');
        const attempts = answer.body.attempts.filter((a) => a.status === 'completed');
        assert.equal(attempts.length, 1, `one payment went through: ${JSON.stringify(answer.body.attempts)}`);
        assert.equal(answer.body.payment_id, paymentId);
      });

      made[index].payment = { id: paymentId, requestId: request.id, amount, merchant: masked(logins.merchant.email) };
      s.finish(t);
      t.diagnostic(`${s.label}: ${s.screenshots.length} screenshots`);
    });
  });
});

describe('converting', { concurrency: VARIANTS.length }, () => {
  VARIANTS.forEach((variant, index) => {
    test(`a USDT to ETH conversion at a locked price (${variant.lang}, ${variant.width})`, { timeout: STORY_TIMEOUT_MS }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'payments').open();
      t.after(() => s.close());
      const page = s.page;
      const amount = `2${index}.5`;
      const userToken = await apiToken(logins.user);

      await s.step('the demo user logs in and opens Convert from the navigation', async () => {
        await s.visit('/login');
        await s.logIn(logins.user.email, logins.user.password);
        await s.expectHeading('dashboard.title');
        const response = await s.click(s.t('nav.convert'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectPath('/convert');
        await s.expectHeading('convert.title');
      });

      /** Fills the form with this variant's USDT → ETH and asks for a quote; answers the quote's facts. */
      const getQuote = async () => {
        const form = page.locator('form#convert-form');
        await form.getByLabel(s.t('convert.from'), { exact: true }).selectOption('USDT');
        await form.getByLabel(s.t('convert.to'), { exact: true }).selectOption('ETH');
        await form.getByLabel(s.t('convert.amount'), { exact: true }).fill(amount);
        const response = await s.click(s.t('convert.get_quote'), { within: 'form#convert-form' });
        assert.equal(response.status(), 200);
        const quote = page.locator('#quote');
        assert.equal(await quote.count(), 1, 'a locked price is shown');
        return facts(quote.locator('dl.facts'));
      };

      let conversion;
      await s.step('a quote shows rate, fee, what arrives and "simulated"; confirming moves exactly that', async () => {
        await holdingThePurse(async () => {
          const before = await balances(userToken);
          const shown = await getQuote();
          // Read off the page at once and confirmed: the price holds for a few seconds only.
          const [payAmount, payAsset] = shown[s.t('convert.you_pay')].split(' ');
          const [fee, feeAsset] = shown[s.t('convert.fee')].split(' ');
          const [getAmount, getAsset] = shown[s.t('convert.you_get')].split(' ');
          const rate = /^1 USDT = ([0-9.]+) ETH$/.exec(shown[s.t('convert.rate')]);
          const badge = await page.locator('#quote .badge.sim').textContent();
          const confirmed = await s.click(s.t('convert.confirm'), { within: 'form#convert' });
          assert.deepEqual([payAmount, payAsset], [amount, 'USDT'], JSON.stringify(shown));
          assert.equal(feeAsset, 'USDT');
          assert.equal(getAsset, 'ETH');
          assert.equal(badge.trim(), s.t('convert.simulated'), 'the price is marked simulated');
          assert.ok(rate, `the rate reads "1 USDT = … ETH": ${shown[s.t('convert.rate')]}`);
          assert.ok(minor(fee) > 0n && minor(fee) < minor(amount), `a fee, included: ${fee}`);
          // What arrives is what is left after the fee at the rate shown (to the asset's places).
          const expected = (Number(amount) - Number(fee)) * Number(rate[1]);
          assert.ok(Math.abs(Number(getAmount) - expected) <= expected * 1e-6, `${getAmount} ETH ≈ (${amount} − ${fee}) × ${rate[1]}`);

          assert.equal(confirmed.status(), 200, `confirmed in time (the price holds ~15 s)`);
          const url = new URL(page.url());
          assert.equal(url.pathname, '/convert');
          const id = url.searchParams.get('done');
          assert.ok(id, `the page names the conversion: ${page.url()}`);
          const done = (await page.locator('#done').innerText()).trim();
          assert.ok(done.startsWith(s.t('convert.done')) && done.includes(`${amount} USDT → ${getAmount} ETH`), done);
          assert.equal(hasChinese(done), s.lang === 'zh-CN', `the notice is in the page's language: ${done}`);

          const after = await balances(userToken);
          assert.equal(decimal(minor(before.USDT) - minor(amount)), after.USDT, `USDT: ${before.USDT} − ${amount}`);
          assert.equal(decimal(minor(before.ETH) + minor(getAmount)), after.ETH, `ETH: ${before.ETH} + ${getAmount}`);
          assert.equal(after.BTC, before.BTC);
          // The page's own balance table shows the same.
          const table = await page.locator('#limits tbody tr').evaluateAll((rows) =>
            Object.fromEntries(rows.map((r) => [r.querySelector('th').innerText.trim(), r.querySelector('td').innerText.trim()])),
          );
          assert.equal(table.USDT, after.USDT);
          assert.equal(table.ETH, after.ETH);
          conversion = { id, amount, fee, toAmount: getAmount };
        });
        await s.check('convert-done');
      });

      await s.step('another quote, looked at and left: what a person sees before confirming', async () => {
        await getQuote();
        // The badge's words (the style sets them in capitals).
        assert.equal((await page.locator('#quote .badge.sim').textContent()).trim(), s.t('convert.simulated'));
        assert.ok(await page.getByRole('button', { name: s.t('convert.confirm'), exact: true }).isVisible());
        assert.ok((await page.locator('#quote').innerText()).includes(s.t('convert.valid_until')));
        // The rate can run to many decimal places.
        assert.deepEqual(await overflowing(page.locator('#quote dl.facts')), [], 'every fact fits its column');
        await s.check('convert-quote');
      });

      made[index].conversion = conversion;
      s.finish(t);
      t.diagnostic(`${s.label}: ${s.screenshots.length} screenshots`);
    });
  });
});

/** The export's header row, per language: the columns a spreadsheet shows. */
const CSV_HEADER = {
  en: ['id', 'time (UTC)', 'kind', 'direction', 'asset', 'amount', 'fee', 'to asset', 'to amount', 'status', 'status explained', 'reason code', 'reason explained', 'counterparty', 'note', 'reference'],
  'zh-CN': ['编号', '时间（UTC）', '类型', '方向', '资产', '金额', '手续费', '兑换资产', '兑换金额', '状态', '状态说明', '原因代码', '原因说明', '对方', '备注', '关联编号'],
};

/** RFC 4180 text (CRLF between records, `"` quoting with `""` inside) as rows of cells. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else quoted = false;
    } else if (c === '"') {
      assert.ok(cell === '' && !wasQuoted, `a quote only opens a cell (record ${rows.length + 1})`);
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      wasQuoted = false;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      wasQuoted = false;
      i += 1;
    } else {
      assert.ok(c !== '\n' && c !== '\r', `records end with CRLF (record ${rows.length + 1})`);
      assert.ok(!wasQuoted, `nothing after a quoted cell's closing quote (record ${rows.length + 1})`);
      cell += c;
    }
  }
  assert.ok(!quoted, 'every quoted cell is closed');
  assert.ok(cell === '' && row.length === 0, 'the last record ends with CRLF');
  return rows;
}

describe('the activity history and its CSV export', { concurrency: VARIANTS.length }, () => {
  VARIANTS.forEach((variant, index) => {
    test(`the history, its CSV and help with an entry (${variant.lang}, ${variant.width})`, { timeout: STORY_TIMEOUT_MS }, async (t) => {
      const { payment, conversion } = made[index];
      assert.ok(payment && conversion, 'this variant\'s payment and conversion stories made their entries');
      const s = await new Story(browser, server.url, variant, 'payments').open();
      t.after(() => s.close());
      const page = s.page;

      await s.step('the history lists this variant\'s payment and conversion, completed', async () => {
        await s.visit('/login');
        await s.logIn(logins.user.email, logins.user.password);
        const response = await s.click(s.t('nav.activity'), { role: 'link', within: 'nav' });
        assert.equal(response.status(), 200);
        await s.expectPath('/activity');
        await s.expectHeading('activity.title');
        const paid = page.locator(`#entries li[data-id="${payment.id}"]`);
        assert.equal(await paid.getAttribute('data-kind'), 'payment');
        assert.equal(await paid.locator('.badge[data-status]').getAttribute('data-status'), 'completed');
        const paidText = await paid.innerText();
        assert.ok(paidText.includes(`−${payment.amount} USDT`) && paidText.includes(s.t('activity.kind.payment')), paidText);
        assert.ok(paidText.includes(payment.merchant), `the merchant, masked: ${paidText}`);
        const converted = page.locator(`#entries li[data-id="${conversion.id}"]`);
        assert.equal(await converted.getAttribute('data-kind'), 'conversion');
        assert.equal(await converted.locator('.badge[data-status]').getAttribute('data-status'), 'completed');
        const convertedText = await converted.innerText();
        assert.ok(convertedText.includes(`${conversion.amount} USDT → ${conversion.toAmount} ETH`), convertedText);
        await s.check('activity');
      });

      await s.step('"Export CSV" downloads the history: header in the page\'s language, both entries completed', async () => {
        const link = page.getByRole('link', { name: s.t('activity.export'), exact: true });
        assert.equal(await link.getAttribute('href'), '/activity.csv');
        const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
        assert.equal(download.suggestedFilename(), 'okwallet-activity.csv');
        const bytes = await readFile(await download.path());
        assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte-order mark, for spreadsheets');
        const rows = parseCsv(bytes.toString('utf8').slice(1));
        const [header, ...records] = rows;
        assert.deepEqual(header, CSV_HEADER[s.lang]);
        for (const r of records) assert.equal(r.length, header.length, `every record has ${header.length} cells: ${r}`);
        const column = Object.fromEntries(CSV_HEADER.en.map((name, i) => [name, i]));
        const record = (id) => {
          const found = records.filter((r) => r[column.id] === id);
          assert.equal(found.length, 1, `one record for ${id}`);
          return Object.fromEntries(CSV_HEADER.en.map((name, i) => [name, found[0][i]]));
        };
        const paid = record(payment.id);
        assert.equal(paid.kind, 'payment');
        assert.equal(paid.direction, 'out');
        assert.equal(paid.status, 'completed');
        assert.equal(paid.asset, 'USDT');
        assert.equal(paid.amount, payment.amount);
        assert.equal(paid.counterparty, payment.merchant);
        assert.equal(paid.reference, payment.requestId, 'the payment names the request it paid');
        assert.equal(hasChinese(paid['status explained']), s.lang === 'zh-CN', `in the page's language: ${paid['status explained']}`);
        const converted = record(conversion.id);
        assert.equal(converted.kind, 'conversion');
        assert.equal(converted.status, 'completed');
        assert.deepEqual(
          [converted.asset, converted.amount, converted.fee, converted['to asset'], converted['to amount']],
          ['USDT', conversion.amount, conversion.fee, 'ETH', conversion.toAmount],
        );
        // Every entry the page shows is in the export.
        const shown = await page.locator('#entries li[data-id]').evaluateAll((items) => items.map((li) => li.dataset.id));
        const exported = new Set(records.map((r) => r[column.id]));
        assert.deepEqual(shown.filter((id) => !exported.has(id)), []);
        t.diagnostic(`${s.label}: the export has ${records.length} records`);
      });

      await s.step('"get help with this" shows the payment\'s reference to quote to support', async () => {
        const response = await s.click(s.t('activity.help_link'), { role: 'link', within: `#entries li[data-id="${payment.id}"]` });
        assert.equal(response.status(), 200);
        await s.expectPath(`/activity/${payment.id}/help`);
        await s.expectHeading('help.title');
        assert.equal((await page.locator('#reference').innerText()).trim(), payment.id);
        const shown = await facts(page.locator('main dl.facts'));
        assert.equal(shown[s.t('help.reference')].split(/\s/)[0], payment.id, JSON.stringify(shown));
        assert.equal(shown[s.t('help.linked')], payment.requestId, 'linked to the payment request');
        assert.deepEqual(await overflowing(page.locator('main dl.facts')), [], 'every fact fits its column');
        const support = await page.locator('main section', { hasText: s.t('help.support_title') }).innerText();
        assert.ok(support.includes(s.t('help.quote_reference')) && support.includes(payment.id), support);
        await s.check('activity-help');
      });

      s.finish(t);
      t.diagnostic(`${s.label}: ${s.screenshots.length} screenshots`);
    });
  });
});
