// Troubleshooters end to end: someone who cannot sign in asks from their email address and the
// findings arrive in that mailbox (never on the page); the demo customer, whose transfer was
// refused, runs "cannot trade" from the help center on a phone in Chinese, sees why with the
// button that fixes it, and takes it to a ticket; the demo agent opens that ticket in the
// console and finds the findings and the refused transfer already there. Every page is
// screenshot and checked with axe.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { eventually, launchChromium, Story } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

let server;
let browser;
const logins = {};
let userToken;

before(async () => {
  server = await startServer();
  browser = await launchChromium('diag');
  for (const m of server.banner.matchAll(/^\s+(user|agent)\s+(\S+@\S+)\s+(\S+)\s*$/gm)) {
    logins[m[1]] = { email: m[2], password: m[3] };
  }
  const answer = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: logins.user.email, password: logins.user.password }),
  });
  assert.equal(answer.status, 201);
  userToken = (await answer.json()).token;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('troubleshooters', () => {
  test('"I can\'t log in" by mail, and "cannot trade" escalated to an agent who sees the findings', { timeout: 300_000 }, async (t) => {
    const stranger = await new Story(browser, server.url, { lang: 'en', width: 'desktop' }, 'diag-login').open();
    const customer = await new Story(browser, server.url, { lang: 'zh-CN', width: 'phone' }, 'diag').open();
    const agent = await new Story(browser, server.url, { lang: 'en', width: 'desktop' }, 'diag-agent').open();
    t.after(() => Promise.all([stranger.close(), customer.close(), agent.close()]));
    let ticketPath;

    await stranger.step('someone who cannot sign in asks from an email address; the answer goes to the mailbox', async () => {
      const page = stranger.page;
      await stranger.visit('/help/topics/login_failed');
      await stranger.navigate(() => page.locator('[data-troubleshooter] a.button').click());
      await stranger.expectPath('/help/troubleshoot/login_failed');
      await stranger.expectHeading('diag.anon.title');
      await stranger.check('ask');
      await page.getByLabel(stranger.t('field.email'), { exact: true }).fill(logins.user.email);
      await stranger.click(stranger.t('diag.anon.submit'), { within: '#login-help' });
      assert.ok((await page.locator('[data-login-help-sent]').innerText()).includes(stranger.t('diag.anon.sent_title')));
      await stranger.check('sent');
      const mail = await eventually(async () => {
        const r = await fetch(`${server.url}/api/v1/dev/mailbox?to=${encodeURIComponent(logins.user.email)}`);
        const body = await r.json();
        return body.items.find((m) => m.kind === 'login_help');
      }, { timeoutMs: 10_000, everyMs: 250 });
      assert.ok(mail, 'the findings reached the mailbox');
      assert.ok(mail.body.includes('/forgot'), mail.body);
    });

    await customer.step('the customer whose transfer was refused runs "cannot trade" and sees why', async () => {
      const refused = await fetch(`${server.url}/api/v1/transfers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
        body: JSON.stringify({ to: logins.agent.email, asset: 'USDT', amount: '50000' }),
      });
      assert.equal(refused.status, 422);
      const page = customer.page;
      await customer.visit('/login');
      await customer.logIn(logins.user.email, logins.user.password);
      await customer.visit('/help/topics/cannot_trade');
      await customer.check('topic');
      await customer.navigate(() => page.locator('[data-troubleshooter] a.button').click());
      await customer.check('start');
      await customer.click(customer.t('diag.run'), { within: '#run-check' });
      assert.match(customer.path(), /^\/help\/troubleshoot\/runs\/[0-9a-z]+$/);
      const finding = page.locator('[data-finding="insufficient_funds"]');
      assert.equal(await finding.count(), 1);
      assert.ok((await finding.innerText()).includes('50000 USDT'));
      assert.equal(await finding.locator('a[data-action="deposit"]').getAttribute('href'), '/deposit?asset=USDT');
      await customer.check('found');
    });

    await customer.step('not solved: the customer takes it to a ticket with a word of their own', async () => {
      const page = customer.page;
      await page.getByLabel(customer.t('diag.message'), { exact: true }).fill('我确实有 USDT，为什么转不出去？');
      await customer.click(customer.t('diag.via.ticket'), { within: '#escalate' });
      ticketPath = customer.path().split('?')[0];
      assert.match(ticketPath, /^\/support\/tickets\/[0-9a-z]+$/);
      assert.ok((await page.locator('main').innerText()).includes('我确实有 USDT'));
      assert.ok(!(await page.locator('main').innerText()).includes('Troubleshooter'), 'the team note stays with the team');
      await customer.check('ticket');
    });

    await agent.step('the agent opens the ticket and sees the findings and the refused transfer at once', async () => {
      const page = agent.page;
      await agent.visit('/login');
      await agent.logIn(logins.agent.email, logins.agent.password);
      await agent.visit('/security');
      await agent.click(agent.t('security.totp.start'), { within: '#two-factor' });
      const app = new Authenticator(await page.locator('#totp-secret').getAttribute('data-secret'));
      await page.getByLabel(agent.t('field.otp'), { exact: true }).fill(await app.nextCode());
      await agent.click(agent.t('totp.submit'), { within: 'main' });
      const id = ticketPath.split('/').pop();
      await agent.visit(`/agent/tickets/${id}`);
      const text = await page.locator('main').innerText();
      assert.ok(text.includes('Troubleshooter') && text.includes('insufficient_funds'), text.slice(0, 2000));
      assert.equal(await page.locator('.console-side [data-linked]').count(), 1, 'the refused transfer is linked');
      await agent.check('ticket');
    });

    stranger.finish(t);
    customer.finish(t);
    agent.finish(t);
  });
});
