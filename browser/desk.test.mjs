// The help desk as its people meet it, in Chinese and English, on a desktop and on a phone:
// a customer who received money opens a ticket about it from "get help with this"; an agent
// (after turning on two-step verification) finds it in the console with the customer's masked
// context beside it, answers with a macro, which solves it; the customer reads the answer,
// rates it, and complains to a supervisor anyway; a supervisor finds the complaint on the
// dashboard (with its charts), answers it, and the customer reads the outcome. Every page is
// screenshot and checked with axe.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { launchChromium, Story, VARIANTS } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

let server;
let browser;
let demoToken;

const PASSWORD = 'teal orchard lantern 2026';

before(async () => {
  server = await startServer();
  browser = await launchChromium('desk');
  const match = server.banner.match(/^\s+user\s+(\S+@\S+)\s+(\S+)\s*$/m);
  const answer = await fetch(`${server.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: match[1], password: match[2] }),
  });
  assert.equal(answer.status, 201);
  demoToken = (await answer.json()).token;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in as a new account of `role` and turns on two-step verification, as staff must. */
async function staffSignIn(s, email, role) {
  await server.command(['user', 'add', '--email', email, '--role', role, '--locale', s.lang], {
    OKWALLET_USER_PASSWORD: PASSWORD,
  });
  await s.visit('/login');
  await s.logIn(email, PASSWORD);
  await s.visit('/security');
  await s.click(s.t('security.totp.start'), { within: '#two-factor' });
  const app = new Authenticator(await s.page.locator('#totp-secret').getAttribute('data-secret'));
  await s.page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
  await s.click(s.t('totp.submit'), { within: 'main' });
  await s.expectHeading('recovery.title');
}

describe('the help desk', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`ticket from an activity entry, macro answer, rating, complaint to a supervisor (${variant.lang}, ${variant.width})`, { timeout: 300_000 }, async (t) => {
      const tag = `${variant.lang.toLowerCase()}-${variant.width}`;
      const customer = await new Story(browser, server.url, variant, 'desk').open();
      const agent = await new Story(browser, server.url, variant, 'desk-agent').open();
      const supervisor = await new Story(browser, server.url, variant, 'desk-supervisor').open();
      t.after(() => Promise.all([customer.close(), agent.close(), supervisor.close()]));
      const customerEmail = `desk-customer-${tag}@example.com`;
      const subject = variant.lang === 'en' ? `Transfer from the demo user ${tag}` : `收到的转账 ${tag}`;
      let ticketPath;

      await customer.step('a customer who received money opens "get help with this" and a ticket about it', async () => {
        await server.command(['user', 'add', '--email', customerEmail, '--role', 'user', '--locale', variant.lang], {
          OKWALLET_USER_PASSWORD: PASSWORD,
        });
        const sent = await fetch(`${server.url}/api/v1/transfers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${demoToken}` },
          body: JSON.stringify({ to: customerEmail, asset: 'USDT', amount: '5', note: tag }),
        });
        assert.equal(sent.status, 201, await sent.text());
        const page = customer.page;
        await customer.visit('/login');
        await customer.logIn(customerEmail, PASSWORD);
        await customer.visit('/activity');
        await customer.click(customer.t('activity.help_link'), { role: 'link', within: 'main' });
        await customer.check('entry-help');
        await customer.click(customer.t('help.open_ticket'), { role: 'link', within: 'main' });
        assert.ok(customer.path().startsWith('/support?reference='), customer.path());
        const form = page.locator('#new-ticket');
        assert.equal(await form.getByLabel(customer.t('support.new.category'), { exact: true }).inputValue(), 'cannot_trade');
        await form.getByLabel(customer.t('support.new.subject'), { exact: true }).fill(subject);
        await form.getByLabel(customer.t('support.new.body'), { exact: true }).fill(
          variant.lang === 'en' ? 'Who sent me 5 USDT, and is it mine to keep?' : '有人给我转了 5 USDT，这笔钱是我的吗？',
        );
        await customer.check('new-ticket');
        await customer.click(customer.t('support.new.submit'), { within: '#new-ticket' });
        ticketPath = customer.path().split('?')[0];
        assert.match(ticketPath, /^\/support\/tickets\/[0-9a-z]+$/);
        assert.ok((await customer.message('status')).includes(customer.t('support.notice.opened')));
        assert.equal(await customer.heading(), `${await page.locator('h1 .muted').innerText()} ${subject}`);
        await customer.check('ticket-opened');
      });
      const ticketId = ticketPath.split('/').pop();

      await agent.step('an agent with two-step verification finds it in the console and sees the customer masked', async () => {
        await staffSignIn(agent, `desk-agent-${tag}@example.com`, 'agent');
        await agent.click(agent.t('nav.agent'), { role: 'link', within: 'nav' });
        await agent.expectHeading('agent.title');
        await agent.check('console');
        await agent.visit('/agent?queue=all');
        await agent.navigate(() => agent.page.locator(`tr[data-ticket="${ticketId}"] a`).click());
        await agent.expectPath(`/agent/tickets/${ticketId}`);
        const email = await agent.page.locator('[data-customer-email]').innerText();
        assert.ok(email.includes('***') && !email.includes(customerEmail), email);
        // The entry the ticket is about is shown beside it, and marked in the recent activity.
        assert.equal(await agent.page.locator('.console-side [data-linked]').count(), 1);
        assert.equal(await agent.page.locator('.console-side li.linked').count(), 1);
        await agent.check('ticket');
      });

      await agent.step('the agent answers with a macro, which also solves the ticket', async () => {
        const page = agent.page;
        await page.getByLabel(agent.t('agent.macro'), { exact: true }).selectOption('deposit-credited');
        await agent.click(agent.t('agent.macro.insert'), { within: '#reply-card' });
        const body = await page.locator('#reply-body').inputValue();
        assert.ok(body.length > 40, body);
        assert.ok((await page.locator('#reply-card').innerText()).includes('status: solved'));
        await agent.check('macro');
        await agent.click(agent.t('agent.reply.send'), { within: '#reply-form' });
        assert.ok((await agent.message('status')).includes(agent.t('agent.notice.reply')));
        assert.equal(await page.locator('.status-line .badge').getAttribute('data-status'), 'solved');
      });

      await customer.step('the customer reads the answer, rates it and complains to a supervisor', async () => {
        const page = customer.page;
        await customer.visit(ticketPath);
        assert.equal(await page.locator('.badge[data-status]').first().getAttribute('data-status'), 'solved');
        assert.equal(await page.locator('.msg.from-agent').count(), 1);
        await page.locator('#rate input[name=score][value="5"]').check();
        await page.getByLabel(customer.t('support.rate.comment'), { exact: true }).fill(variant.lang === 'en' ? 'Clear answer' : '回答很清楚');
        await customer.click(customer.t('support.rate.submit'), { within: '#rate' });
        assert.equal(await page.locator('[data-rating]').getAttribute('data-rating'), '5');
        await customer.check('rated');
        await page.getByLabel(customer.t('support.complaint.reason'), { exact: true }).fill(
          variant.lang === 'en' ? 'Nobody told me who sent it.' : '客服没有告诉我转账人是谁。',
        );
        await customer.click(customer.t('support.complaint.submit'), { within: '#complaint' });
        assert.equal(await page.locator('[data-complaint]').getAttribute('data-complaint'), 'open');
        await customer.check('complained');
      });

      await supervisor.step('a supervisor finds the complaint on the dashboard and answers it', async () => {
        const page = supervisor.page;
        await staffSignIn(supervisor, `desk-supervisor-${tag}@example.com`, 'supervisor');
        await supervisor.click(supervisor.t('nav.supervisor'), { role: 'link', within: 'nav' });
        assert.equal(supervisor.path(), '/supervisor');
        assert.ok((await page.locator('main svg').count()) >= 2, 'the dashboard draws its charts');
        await supervisor.check('dashboard');
        const link = page.locator(`a[href^="/supervisor/complaints/"]`, { hasText: subject });
        await supervisor.navigate(() => link.click());
        await supervisor.check('complaint');
        await page.locator('#outcome').fill(
          variant.lang === 'en' ? 'You are right: the agent should have said the sender.' : '您说得对：客服应当告诉您转账人。',
        );
        await supervisor.navigate(() => page.locator('form[action^="/supervisor/complaints/"] button[type=submit]').click());
        await supervisor.check('complaint-answered');
      });

      await customer.step('the customer reads the supervisor\'s answer on the ticket', async () => {
        await customer.visit(ticketPath);
        assert.equal(await customer.page.locator('[data-complaint]').getAttribute('data-complaint'), 'resolved');
        const text = await customer.page.locator('#complaint').innerText();
        assert.ok(text.includes(variant.lang === 'en' ? 'should have said the sender' : '告诉您转账人'), text);
        await customer.check('complaint-answered');
      });

      customer.finish(t);
      agent.finish(t);
      supervisor.finish(t);
      t.diagnostic(`${customer.screenshots.length + agent.screenshots.length + supervisor.screenshots.length} screenshots`);
    });
  }
});
