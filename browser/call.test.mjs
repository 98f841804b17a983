// Live support in two real browsers: the demo customer calls from the help center (a free
// in-app call) in one Chromium, the demo agent answers in the console in another, and audio
// flows browser to browser over WebRTC (Chromium's fake microphone: a beep), with the
// signalling through our WebSocket. During the call they also type: Enter while an input
// method is composing (拼音) does not send, Enter after it does. The customer hangs up; the
// call's record (wait, duration, agent, outcome) is on both sides and the agent's notes are
// kept. Every page is screenshot and checked with axe.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { eventually, launchChromium, Story } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

// Fake devices and no permission prompt; host candidates as plain addresses (no mDNS names,
// which a machine without a resolver for .local cannot reach).
const MEDIA = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

let server;
let customerBrowser;
let agentBrowser;
const logins = {};

before(async () => {
  server = await startServer();
  customerBrowser = await launchChromium('call', { args: MEDIA });
  agentBrowser = await launchChromium('call', { args: MEDIA, clean: false });
  for (const m of server.banner.matchAll(/^\s+(user|agent)\s+(\S+@\S+)\s+(\S+)\s*$/gm)) {
    logins[m[1]] = { email: m[2], password: m[3] };
  }
  assert.ok(logins.user && logins.agent, server.banner);
});

after(async () => {
  await customerBrowser?.close();
  await agentBrowser?.close();
  await server?.stop();
});

async function turnOnTwoStep(s) {
  await s.visit('/security');
  await s.click(s.t('security.totp.start'), { within: '#two-factor' });
  const app = new Authenticator(await s.page.locator('#totp-secret').getAttribute('data-secret'));
  await s.page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
  await s.click(s.t('totp.submit'), { within: 'main' });
  await s.expectHeading('recovery.title');
}

describe('live support', () => {
  test('a free in-app call between two browsers, with chat during it (zh-CN customer on a phone, en agent)', { timeout: 300_000 }, async (t) => {
    const customer = await new Story(customerBrowser, server.url, { lang: 'zh-CN', width: 'phone' }, 'call').open();
    const agent = await new Story(agentBrowser, server.url, { lang: 'en', width: 'desktop' }, 'call-agent').open();
    t.after(() => Promise.all([customer.close(), agent.close()]));
    let chatId;

    await agent.step('the demo agent turns on two-step verification and opens the chat console', async () => {
      await agent.visit('/login');
      await agent.logIn(logins.agent.email, logins.agent.password);
      await turnOnTwoStep(agent);
      await agent.visit('/agent/chats');
      await agent.expectHeading('agent.chats.title');
      await agent.check('console-empty');
    });

    await customer.step('the customer starts a free call from the support page and waits for the agent', async () => {
      const page = customer.page;
      await customer.visit('/login');
      await customer.logIn(logins.user.email, logins.user.password);
      await customer.visit('/support');
      await customer.navigate(() => page.locator('[data-start-call]').click());
      await customer.expectHeading('chat.title');
      assert.equal(await page.locator('input[name=media][value=voice]').isChecked(), true);
      await page.getByLabel(customer.t('chat.start.category'), { exact: true }).selectOption('cannot_trade');
      await page.getByLabel(customer.t('chat.start.message'), { exact: true }).fill('闪兑一直提示报价过期，能帮我看看吗？');
      await customer.check('start');
      await customer.click(customer.t('chat.start.submit'), { within: '#start-chat' });
      assert.match(customer.path(), /^\/support\/chats\/[0-9a-z]+$/);
      chatId = customer.path().split('/').pop();
      await page.locator('[data-chat][data-connected="1"]').waitFor();
      assert.equal(await page.locator('[data-call]').getAttribute('data-call-state'), 'ringing');
      assert.equal(await page.locator('[data-call-label]').innerText(), customer.t('call.state.ringing'));
      await customer.check('ringing');
    });

    await agent.step('the call rings in the console and the agent answers', async () => {
      const page = agent.page;
      await agent.visit('/agent');
      assert.equal(await page.locator('[data-ringing]').getAttribute('data-ringing'), '1');
      await agent.visit(`/agent/chats?open=${chatId}`);
      assert.ok((await page.locator('.chat-log').innerText()).includes('闪兑一直提示报价过期'));
      const answer = page.getByRole('button', { name: agent.t('call.answer'), exact: true });
      await answer.waitFor();
      await agent.check('ringing');
      await answer.click();
    });

    await customer.step('audio flows browser to browser over WebRTC', async () => {
      for (const s of [customer, agent]) {
        const call = s.page.locator('[data-call]');
        await s.page.locator('[data-call][data-rtc="connected"]').waitFor({ timeout: 20_000 });
        assert.equal(await call.getAttribute('data-remote-audio'), '1', `${s.label}: a remote audio track`);
        const live = await s.page.evaluate(() => {
          const audio = document.querySelector('[data-call-audio]');
          const track = audio.srcObject && audio.srcObject.getAudioTracks()[0];
          return track ? track.readyState : 'none';
        });
        assert.equal(live, 'live', `${s.label}: the remote track is live`);
      }
      // Bytes really arrive, both ways: each page reads its inbound audio counter.
      for (const s of [customer, agent]) {
        const bytes = await eventually(async () => {
          const n = Number(await s.page.locator('[data-call]').getAttribute('data-audio-in'));
          return n > 0 ? n : 0;
        }, { timeoutMs: 10_000 });
        assert.ok(bytes > 0, `${s.label}: audio bytes received`);
      }
      await customer.check('connected');
      await agent.check('connected');
    });

    await customer.step('typing during the call: Enter while composing does not send, Enter after does', async () => {
      const page = customer.page;
      const input = page.locator('[data-chat-input]');
      await input.fill('我的订单号是');
      // What an input method sends when Enter picks a candidate: keydown with isComposing.
      await input.evaluate((el) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true })));
      await input.evaluate((el) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', keyCode: 229, bubbles: true, cancelable: true })));
      assert.equal(await input.inputValue(), '我的订单号是', 'nothing was sent while composing');
      assert.equal(await page.locator('.chat-log .from-customer').count(), 1);
      await input.press('Enter');
      await page.locator('.chat-log .from-customer[data-seq]', { hasText: '我的订单号是' }).waitFor();
      assert.equal(await input.inputValue(), '');
      await agent.page.locator('.chat-log .from-customer', { hasText: '我的订单号是' }).waitFor();
      await agent.page.locator('[data-chat-input]').fill('Thanks, I can see the quote expired after 15 s.');
      await agent.page.locator('[data-chat-input]').press('Enter');
      await page.locator('.chat-log .from-agent', { hasText: 'quote expired' }).waitFor();
      await customer.check('chatting');
    });

    await customer.step('the customer hangs up; the record is on both sides', async () => {
      await customer.page.waitForTimeout(1_200);
      await customer.page.getByRole('button', { name: customer.t('call.hangup'), exact: true }).click();
      for (const s of [customer, agent]) {
        await s.page.locator('[data-call][data-call-state="ended"]').waitFor();
        await s.page.locator('[data-chat][data-open="0"]').waitFor();
      }
      await customer.visit(`/support/chats/${chatId}`);
      assert.equal(await customer.page.locator('[data-call-outcome]').innerText(), customer.t('call.outcome.completed'));
      await customer.check('ended');
    });

    await agent.step('the agent keeps notes on the call', async () => {
      const page = agent.page;
      await agent.visit(`/agent/chats?open=${chatId}`);
      assert.equal(await page.locator('[data-call-outcome]').innerText(), agent.t('call.outcome.completed'));
      const talked = Number(await page.locator('[data-call-record] .num').nth(1).innerText());
      assert.ok(talked >= 1, `talked ${talked} s`);
      await page.getByRole('textbox', { name: agent.t('call.notes'), exact: true }).fill('Quote expiry explained; asked to confirm within 15 s.');
      await agent.click(agent.t('call.notes_save'), { within: 'main' });
      assert.ok((await page.locator('main .alert[role=status]').innerText()).includes(agent.t('call.notes_saved')));
      assert.equal(await page.locator('#call-notes').inputValue(), 'Quote expiry explained; asked to confirm within 15 s.');
      await agent.check('notes');
    });

    await customer.step('the customer asks for a call back instead, inside the hotline\'s hours', async () => {
      const page = customer.page;
      await customer.visit('/support/callback');
      await customer.check('callback');
      // The demo's hotlines have open hours within the fortnight, so there are times to pick.
      await page.locator('#cb-slot').selectOption({ index: 0 });
      await page.locator('#cb-phone').fill('+86 138 0013 8000');
      await customer.navigate(() => page.locator('#new-callback button[type=submit]').click());
      assert.equal(await page.locator('[data-callback][data-state="requested"]').count(), 1, 'the callback is listed');
      await customer.check('callback-booked');
    });

    await agent.step('the agent sees the callback queue', async () => {
      await agent.visit('/agent/callbacks');
      await agent.check('callbacks');
    });

    customer.finish(t);
    agent.finish(t);
  });
});
