// The help center as a visitor meets it, in Chinese and English, on a desktop and on a phone:
// the home page with the five problems, who answers now and what is going on; a search in the
// visitor's own words landing on highlighted results and the article, "was this helpful?"; the
// contact page under a fixed clock (a weekday morning with the Mainland China hotline open, and
// a Saturday night with only the 24/7 lines and chat open); "is this really us?" with the
// official hotline and a look-alike domain, reported; and the ETH incident on the deposit page.
// Then the editing side: an administrator types hours with a mistake and is told where, saves
// them and sees them on the contact page, previews and saves an article that search finds at
// once, posts an incident update, judges a reported look-alike and reads the searches that
// found nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startServer } from './support/server.mjs';
import { eventually, launchChromium, Story, VARIANTS } from './support/story.mjs';
import { Authenticator } from './support/totp.mjs';

let server;
let browser;
/** The demo user's login, read from what `serve --demo` printed. */
let demoUser;

/** A Wednesday, 10:00 in Shanghai: the Mainland China hotline is open. */
const WEEKDAY_MORNING = '2026-11-25T02:00:00Z';
/** A Saturday, 23:00 in Shanghai: the hotline is closed; the 24/7 line and chat are open. */
const SATURDAY_NIGHT = '2026-11-28T15:00:00Z';

before(async () => {
  server = await startServer();
  browser = await launchChromium('help');
  const match = server.banner.match(/^\s+user\s+(\S+@\S+)\s+(\S+)\s*$/m);
  demoUser = { email: match[1], password: match[2] };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Words of the demo's data (crates/okwallet/src/demo_help.rs), which are not page texts. */
const DEMO = {
  'zh-CN': {
    hotline: '全国客服热线',
    incident: 'ETH 充值到账延迟',
    search: '钱没到',
    lookAlike: 'okwa11et.example',
  },
  en: {
    hotline: 'Mainland China hotline',
    incident: 'ETH deposits delayed',
    search: "can't log in",
    lookAlike: 'okwallet.example.login-check.com',
  },
};

/** The open/closed badge of a channel card on the contact page. */
async function badge(page, id) {
  return (await page.locator(`#channel-${id} .status-line .badge`).innerText()).trim();
}

describe('the help center', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`help center, search, contact hours, official check, incident banner (${variant.lang}, ${variant.width})`, { timeout: 240_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'help').open();
      t.after(() => s.close());
      const page = s.page;
      const demo = DEMO[variant.lang];

      await s.step('the home page offers search, the five problems, who answers now and what is going on', async () => {
        let helpLoads = 0;
        const onRequest = (r) => {
          if (r.isNavigationRequest() && new URL(r.url()).pathname === '/help') helpLoads += 1;
        };
        page.on('request', onRequest);
        await s.visit('/');
        await s.click(s.t('nav.help'), { role: 'link', within: 'nav' });
        await s.expectPath('/help');
        // The first help page learns the browser's time zone and, when it differs from ours,
        // shows itself once more in it — once.
        const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
        if (zone !== 'Asia/Shanghai') {
          assert.ok(await eventually(() => helpLoads >= 2), 'the page reloads with the zone');
          await page.waitForLoadState('load');
        }
        await eventually(async () => (await page.locator('[data-tz-source=browser]').count()) === 1);
        page.off('request', onRequest);
        assert.ok(helpLoads <= 2, `reloaded ${helpLoads - 1} times`);
        const hero = page.locator('[data-tz-auto]');
        assert.equal(await hero.getAttribute('data-tz-auto'), zone);
        assert.equal(await hero.getAttribute('data-tz-source'), 'browser');
        await s.expectHeading('hc.title');

        const problems = page.locator('.problems a');
        assert.deepEqual(
          await problems.evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
          ['login_failed', 'funds_delayed', 'cannot_trade', 'account_security', 'payment_failed'].map((c) => `/help/topics/${c}`),
        );
        assert.ok((await problems.first().innerText()).includes(s.t('hc.problem.login_failed')));
        const best = page.locator('#best');
        assert.ok((await best.innerText()).includes(s.t('hc.best')));
        assert.ok(await best.getAttribute('data-channel'), 'a channel is suggested');
        const now = page.locator('#now');
        assert.ok((await now.innerText()).includes(demo.incident), 'the ETH incident is listed');
        assert.equal(await now.getByRole('link', { name: demo.incident, exact: true }).getAttribute('href'), '/help/status#a-demo-eth-delay');
        assert.equal(await page.locator('main a[href="/help/check"]').count() > 0, true);
        assert.equal(await page.locator('.topic-list a').count(), 11, 'every topic is linked');
        await s.check('home');
      });

      await s.step('a search in everyday words lands on highlighted results and opens the article', async () => {
        await page.getByLabel(s.t('hc.search.label'), { exact: true }).fill(demo.search);
        await s.click(s.t('hc.search.submit'), { within: 'main' });
        assert.equal(new URL(page.url()).pathname, '/help/search');
        assert.equal(new URL(page.url()).searchParams.get('q'), demo.search);
        const results = page.locator('#results > li');
        assert.ok((await results.count()) >= 1, 'something is found');
        const first = results.first();
        assert.ok((await first.locator('mark').count()) >= 1, 'the matched words are marked');
        assert.equal(
          await first.getAttribute('data-slug'),
          variant.lang === 'en' ? 'login-failed' : 'deposit-confirmations',
        );
        await s.check('search');

        const link = first.locator('h2 a');
        const title = (await link.innerText()).trim();
        await s.navigate(() => link.click());
        assert.equal(await s.heading(), title);
        await s.expectPath(`/help/articles/${variant.lang === 'en' ? 'login-failed' : 'deposit-confirmations'}`);
        const crumbs = page.locator('nav.crumbs');
        assert.ok((await crumbs.innerText()).includes(s.t('hc.title')));
        // The other language is one link away.
        const other = page.locator('.other-lang a');
        assert.equal(await other.getAttribute('hreflang'), variant.lang === 'en' ? 'zh-CN' : 'en');
        await s.check('article');
      });

      await s.step('"was this helpful?" is answered and thanked for', async () => {
        const feedback = page.locator('#feedback');
        await feedback.getByLabel(s.t('hc.feedback.comment'), { exact: true }).fill('Clear, thank you.');
        const response = await s.click(s.t('hc.feedback.yes'), { within: '#feedback' });
        assert.equal(response.status(), 200);
        assert.ok((await feedback.locator('[role=status]').innerText()).includes(s.t('hc.feedback.thanks')));
        assert.equal(await feedback.locator('form').count(), 0, 'the form gives way to the thanks');
        await s.check('article-thanks');
      });

      await s.step('a weekday morning: the Mainland China hotline is open, the free call is suggested', async () => {
        await s.visit(`/help/contact?at=${WEEKDAY_MORNING}`);
        await s.expectHeading('hc.contact.title');
        assert.ok((await page.locator('#fixed-time').innerText()).includes(s.t('hc.contact.fixed')));
        assert.equal(await badge(page, 'cn-hotline'), s.t('hc.open'));
        const hotline = await page.locator('#channel-cn-hotline').innerText();
        assert.ok(hotline.includes(demo.hotline) && hotline.includes('400-990-1234'), hotline);
        assert.ok(hotline.includes('2026-11-25 18:00 CST'), `closes at 18:00 Shanghai time: ${hotline}`);
        assert.equal(await page.locator('#channel-cn-hotline a[href="tel:+864009901234"]').count(), 1);
        assert.equal(await badge(page, 'shenzhen-night'), s.t('hc.closed'));
        const best = page.locator('#best');
        assert.equal(await best.getAttribute('data-channel'), 'in-app-call');
        assert.ok((await best.innerText()).includes(s.t('hc.best')));
        assert.ok((await best.locator('.best-reason').innerText()).trim().length > 0, 'the reason is given');
        await s.check('contact-weekday');
      });

      await s.step('a Saturday night: the hotline is closed, the 24/7 line and chat are open', async () => {
        await s.visit(`/help/contact?at=${SATURDAY_NIGHT}`);
        assert.equal(await badge(page, 'cn-hotline'), s.t('hc.closed'));
        const hotline = await page.locator('#channel-cn-hotline .status-text').innerText();
        assert.ok(hotline.includes('2026-11-30 09:00 CST'), `opens Monday 09:00: ${hotline}`);
        assert.equal(await badge(page, 'security-hotline'), s.t('hc.open'));
        assert.equal(await badge(page, 'shenzhen-night'), s.t('hc.open'));
        assert.equal(await badge(page, 'in-app-call'), s.t('hc.closed'));
        assert.equal(await page.locator('#best').getAttribute('data-channel'), 'live-chat');
        assert.ok((await page.locator('#best').innerText()).includes(s.t('hc.open')));
        // The hours are shown in the visitor's zone too, and the page says which.
        const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
        assert.equal(await page.locator('#zone-note').getAttribute('data-zone'), zone);
        assert.ok((await page.locator('#zone-note').innerText()).includes(s.t('hc.zone.browser')));
        await s.check('contact-saturday-night');
      });

      await s.step('the official hotline number is ours', async () => {
        await s.visit('/help/check');
        await s.expectHeading('hc.check.title');
        const official = await page.locator('#official').innerText();
        for (const v of ['400-990-1234', '400-990-5678', 'support@okwallet.example', 'okwallet.example']) {
          assert.ok(official.includes(v), `${v} is listed as ours`);
        }
        await page.getByLabel(s.t('hc.check.field'), { exact: true }).fill('400 990 1234');
        await s.click(s.t('hc.check.submit'), { within: '#check-form' });
        const result = page.locator('#result');
        assert.equal(await result.getAttribute('data-official'), 'true');
        const text = await result.innerText();
        assert.ok(text.includes(s.t('hc.check.official')) && text.includes(demo.hotline), text);
        assert.equal(await page.locator('#report').count(), 0, 'nothing to report');
        await s.check('check-official');
      });

      await s.step('a look-alike domain is not ours, is explained, and is reported', async () => {
        await page.getByLabel(s.t('hc.check.field'), { exact: true }).fill(demo.lookAlike);
        await s.click(s.t('hc.check.submit'), { within: '#check-form' });
        const result = page.locator('#result');
        assert.equal(await result.getAttribute('data-official'), 'false');
        assert.equal(await result.getAttribute('data-kind'), 'domain');
        assert.ok((await result.locator('h2').innerText()).includes(s.t('hc.check.not_official')));
        const warnings = result.locator('[role=alert] li[data-code]');
        assert.ok((await warnings.count()) >= 1, 'the trick is named');
        assert.ok((await warnings.first().innerText()).trim().length > 10);
        const before = Number(await page.locator('#report-count').getAttribute('data-reports'));
        await s.check('check-look-alike');

        const report = page.locator('#report');
        assert.equal(await report.getByLabel(s.t('hc.report.value'), { exact: true }).inputValue(), demo.lookAlike);
        await report.getByLabel(s.t('hc.report.seen_in'), { exact: true }).selectOption('sms');
        await report.getByLabel(s.t('hc.report.note'), { exact: true }).fill('A text said my account was frozen.');
        const response = await s.click(s.t('hc.report.submit'), { within: '#report' });
        assert.equal(response.status(), 200);
        assert.ok((await page.locator('#reported').innerText()).includes(s.t('hc.report.thanks')));
        const after = Number(await page.locator('#report-count').getAttribute('data-reports'));
        assert.ok(after > before, `the count went up: ${before} → ${after}`);
        await s.check('check-reported');
      });

      await s.step('the deposit page shows the ETH incident and leads to its history', async () => {
        await s.visit('/login');
        await s.logIn(demoUser.email, demoUser.password);
        await s.expectHeading('dashboard.title');
        await s.visit('/deposit?asset=ETH');
        const banner = page.locator('#service-notices');
        const text = await banner.innerText();
        assert.ok(text.includes(demo.incident), text);
        const details = banner.getByRole('link', { name: s.t('hc.banner.details'), exact: true });
        assert.equal(await details.getAttribute('href'), '/help/status#a-demo-eth-delay');
        await s.check('deposit-banner');

        await s.navigate(() => details.click());
        await s.expectHeading('hc.status.title');
        const incident = page.locator('#current #a-demo-eth-delay');
        assert.ok((await incident.innerText()).includes(demo.incident));
        assert.equal(await incident.locator('.timeline li').count(), 2, 'investigating, then identified');
        assert.deepEqual(await incident.locator('.timeline li').evaluateAll((l) => l.map((li) => li.dataset.state)), ['investigating', 'identified']);
        await s.check('status');

        await s.visit('/deposit?asset=BTC');
        assert.equal(await page.locator('#service-notices').count(), 0, 'BTC deposits are not affected');
      });

      if (variant.width === 'phone') {
        await s.step('the pages fit a 360 px phone', async () => {
          await page.setViewportSize({ width: 360, height: 780 });
          for (const [path, name] of [['/help', 'home-360'], [`/help/contact?at=${SATURDAY_NIGHT}`, 'contact-360'], [`/help/check?value=${encodeURIComponent(demo.lookAlike)}`, 'check-360']]) {
            await s.visit(path);
            await s.check(name);
          }
        });
      }

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  }
});

describe('editing the help center', { concurrency: VARIANTS.length }, () => {
  for (const variant of VARIANTS) {
    test(`channels, articles, announcements, reports and misses (${variant.lang}, ${variant.width})`, { timeout: 240_000 }, async (t) => {
      const s = await new Story(browser, server.url, variant, 'help-admin').open();
      t.after(() => s.close());
      const page = s.page;
      const tag = `${variant.lang.toLowerCase()}-${variant.width}`;

      await s.step('an administrator with two-step verification opens the help center editing', async () => {
        const email = `help-admin-${tag}@example.com`;
        const password = 'harbour lantern quartz 2026';
        await server.command(['user', 'add', '--email', email, '--role', 'admin', '--locale', variant.lang], {
          OKWALLET_USER_PASSWORD: password,
        });
        await s.visit('/login');
        await s.logIn(email, password);
        await s.visit('/security');
        await s.click(s.t('security.totp.start'), { within: '#two-factor' });
        const app = new Authenticator(await page.locator('#totp-secret').getAttribute('data-secret'));
        await page.getByLabel(s.t('field.otp'), { exact: true }).fill(await app.nextCode());
        await s.click(s.t('totp.submit'), { within: 'main' });
        await s.expectHeading('recovery.title');
        await s.click(s.t('nav.admin'), { role: 'link', within: 'nav' });
        await s.click(s.t('hca.channels.title'), { role: 'link', within: 'main' });
        await s.expectPath('/admin/help/channels');
        await s.expectHeading('hca.channels.title');
        assert.equal(await page.locator('tr[data-channel=cn-hotline]').count(), 1);
        await s.check('channels');
      });

      const id = `gz-${tag}`;
      await s.step('hours typed wrongly are refused next to the hours, and nothing typed is lost', async () => {
        await s.click(s.t('hca.channel.new'), { role: 'link', within: 'main' });
        const form = page.locator('#channel-form');
        await form.getByLabel(s.t('hca.channel.id'), { exact: true }).fill(id);
        await form.getByLabel(s.t('hca.channel.name_zh'), { exact: true }).fill('广州热线');
        await form.getByLabel(s.t('hca.channel.name_en'), { exact: true }).fill(`Guangzhou hotline ${tag}`);
        await form.getByLabel(s.t('hca.channel.value'), { exact: true }).fill('020 3899 0000');
        await form.getByLabel(s.t('hca.channel.weekly'), { exact: true }).fill('mon-fri 9-18');
        await form.getByLabel(s.t('hca.channel.holidays'), { exact: true }).fill("2027-01-01 元旦 / New Year's Day");
        const response = await s.click(s.t('hca.save'), { within: '#channel-form' });
        assert.equal(response.status(), 422);
        assert.ok((await s.message()).includes(s.t('hca.not_saved')));
        assert.ok((await page.locator('#schedule-error').innerText()).includes('HH:MM'));
        assert.equal(await page.getByLabel(s.t('hca.channel.weekly'), { exact: true }).inputValue(), 'mon-fri 9-18');
        assert.equal(await page.getByLabel(s.t('hca.channel.name_en'), { exact: true }).inputValue(), `Guangzhou hotline ${tag}`);
        await s.check('channel-bad-hours');
      });

      await s.step('good hours are saved and the contact page shows them at once', async () => {
        await page.getByLabel(s.t('hca.channel.weekly'), { exact: true }).fill('mon-fri 09:00-18:00\nsat 10:00-14:00');
        await s.click(s.t('hca.save'), { within: '#channel-form' });
        await s.expectPath(`/admin/help/channels?saved=${id}`);
        assert.ok((await s.message('status')).includes(id));
        await s.visit(`/help/contact?at=${WEEKDAY_MORNING}&tz=Asia/Shanghai`);
        const card = page.locator(`#channel-${id}`);
        const text = await card.innerText();
        assert.ok(text.includes(variant.lang === 'en' ? `Guangzhou hotline ${tag}` : '广州热线'), text);
        assert.ok(text.includes('09:00–18:00') && text.includes('10:00–14:00'), text);
        assert.equal(await badge(page, id), s.t('hc.open'));
        assert.equal(await card.locator('a[href="tel:+862038990000"]').count(), 1);
      });

      const slug = `red-envelope-${tag}`;
      await s.step('an article is previewed without saving, then saved and found by the search', async () => {
        await s.visit('/admin/help/articles');
        await s.expectHeading('hca.articles.title');
        await s.check('articles');
        await s.click(s.t('hca.article.new'), { role: 'link', within: 'main' });
        const form = page.locator('#article-form');
        await form.getByLabel(s.t('hca.article.slug'), { exact: true }).fill(slug);
        await form.getByLabel(s.t('hca.article.lang'), { exact: true }).selectOption(variant.lang);
        await form.getByLabel(s.t('hca.article.category'), { exact: true }).selectOption('funds_delayed');
        const word = variant.lang === 'en' ? `zebrafinch${variant.width}` : '红包';
        await form.getByLabel(s.t('hca.article.title'), { exact: true }).fill(`${word} ${tag}`);
        await form.getByLabel(s.t('hca.article.body'), { exact: true }).fill(`## ${word}\n\n- one\n- two\n\n<script>alert(1)</script>`);
        await s.click(s.t('hca.article.preview'), { within: '#article-form' });
        const preview = page.locator('#preview');
        assert.equal(await preview.locator('.article-body h2').innerText(), word);
        assert.equal(await preview.locator('.article-body li').count(), 2);
        assert.equal(await preview.locator('script').count(), 0, 'the preview is sanitised');
        await s.check('article-preview');
        const status = await page.evaluate((path) => fetch(path).then((r) => r.status), `/help/articles/${slug}`);
        assert.equal(status, 404, 'a preview saves nothing');

        // The preview keeps the form as typed: saving is one more click.
        await s.click(s.t('hca.save'), { within: '#article-form' });
        await s.expectPath(`/admin/help/articles?saved=${slug}/${variant.lang}`);
        await s.visit(`/help/search?q=${encodeURIComponent(word)}`);
        const hit = page.locator(`#results > li[data-slug="${slug}"]`);
        assert.equal(await hit.count(), 1, 'found at once');
        assert.ok((await hit.locator('mark').count()) >= 1);
      });

      await s.step('an incident update moves its state on the status page', async () => {
        await s.visit('/admin/help/announcements');
        await s.expectHeading('hca.announcements.title');
        await s.check('announcements');
        const item = page.locator('#a-demo-eth-delay');
        await item.locator('summary').click();
        await item.getByLabel(s.t('hca.ann.new_state'), { exact: true }).selectOption('monitoring');
        await item.getByLabel(s.t('hca.ann.update_zh'), { exact: true }).fill(`已修复，观察中（${tag}）。`);
        await item.getByLabel(s.t('hca.ann.update_en'), { exact: true }).fill(`Fixed, watching (${tag}).`);
        await s.click(s.t('hca.ann.post_update'), { within: '#a-demo-eth-delay form' });
        assert.ok((await s.message('status')).includes(s.t('hca.announcement.updated')));
        await s.visit('/help/status');
        const incident = page.locator('#a-demo-eth-delay');
        assert.equal(await incident.getAttribute('data-state'), 'monitoring');
        assert.ok((await incident.innerText()).includes(variant.lang === 'en' ? `Fixed, watching (${tag}).` : `已修复，观察中（${tag}）。`));
      });

      await s.step('a reported look-alike is judged a scam, and the check warns everyone', async () => {
        const value = `okwa11et-${tag}.example`;
        await s.visit(`/help/check?value=${value}`);
        await s.click(s.t('hc.report.submit'), { within: '#report' });
        await s.visit('/admin/help/reports');
        await s.expectHeading('hca.reports.title');
        const card = page.locator(`section[data-normalised="${value}"]`);
        assert.ok((await card.innerText()).includes(s.t('hca.reports.unreviewed')));
        await s.check('reports');
        await card.getByLabel(s.t('hca.reports.verdict'), { exact: true }).selectOption('scam');
        await s.navigate(() => card.getByRole('button', { name: s.t('hca.reports.save'), exact: true }).click());
        assert.ok((await s.message('status')).includes(value));
        await s.visit(`/help/check?value=${value}`);
        assert.ok((await page.locator('#result').innerText()).includes(s.t('hc.check.confirmed_scam')));
        assert.equal(await page.locator('#result li[data-code=reported_scam]').count(), 1);
      });

      await s.step('searches that found nothing are listed for the editors', async () => {
        const miss = `nothingmatches${tag.replace(/[^a-z]/g, '')}`;
        await s.visit(`/help/search?q=${miss}`);
        assert.equal(await page.locator('#no-results').count(), 1);
        await s.visit('/admin/help/misses');
        await s.expectHeading('hca.misses.title');
        assert.ok((await page.locator('main table').innerText()).includes(miss));
        await s.check('misses');
      });

      s.finish(t);
      t.diagnostic(`${s.screenshots.length} screenshots`);
    });
  }
});
