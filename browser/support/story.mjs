// One person's visit in one language at one screen width: a Chromium context with that locale,
// helpers that act and wait like a person (click, then wait for the next page), and `check`,
// which every page visited goes through: no sideways scrolling, a full-page screenshot, and an
// axe-core accessibility check.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { text } from './texts.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = require('axe-core').source;

export const CHROMIUM = process.env.OKWALLET_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

export const LANGS = ['zh-CN', 'en'];
export const WIDTHS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

/**
 * Asks `probe` (an async function) until it answers something truthy, for things a person
 * would see settle within a moment (an animated scroll, a mail being queued); answers that
 * last answer, or the falsy one after `timeoutMs`.
 */
export async function eventually(probe, { timeoutMs = 5_000, everyMs = 100 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer || Date.now() >= until) return answer;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Every combination of language and width, e.g. `{ lang: 'zh-CN', width: 'phone' }`. */
export const VARIANTS = LANGS.flatMap((lang) => Object.keys(WIDTHS).map((width) => ({ lang, width })));

/**
 * Starts Chromium, after removing the screenshots an earlier run of the stories named `prefix`
 * left (so the folder shows this run only). `args` are extra command-line switches (e.g. fake
 * media devices).
 */
export function launchChromium(prefix, { args = [], clean = true } = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  if (clean) {
    for (const name of readdirSync(SCREENSHOTS)) {
      if (name.startsWith(`${prefix}-`) || name.startsWith(`FAILED-${prefix}-`)) rmSync(`${SCREENSHOTS}${name}`);
    }
  }
  return chromium.launch({ executablePath: CHROMIUM, args });
}

export class Story {
  /**
   * @param browser a launched Chromium
   * @param baseUrl the server's address
   * @param variant `{ lang, width }`
   * @param prefix the story's name, first in every screenshot's file name
   */
  constructor(browser, baseUrl, { lang, width }, prefix) {
    this.browser = browser;
    this.baseUrl = baseUrl;
    this.lang = lang;
    this.width = width;
    this.prefix = prefix;
    this.label = `${prefix} ${lang} ${width}`;
    this.screenshots = [];
    this.a11yProblems = [];
    /** Lesser axe findings by rule: help text and the pages it was seen on. */
    this.a11yMinor = new Map();
  }

  async open() {
    this.context = await this.browser.newContext({
      ...WIDTHS[this.width],
      locale: this.lang,
      extraHTTPHeaders: { 'Accept-Language': this.lang === 'en' ? 'en-GB,en;q=0.9' : 'zh-CN,zh;q=0.9' },
    });
    this.context.setDefaultTimeout(15_000);
    this.page = await this.context.newPage();
    this.pageErrors = [];
    this.page.on('pageerror', (e) => this.pageErrors.push(String(e)));
    return this;
  }

  async close() {
    await this.context?.close();
  }

  /** The text under `key` in this story's language (or in `lang`). */
  t(key, lang = this.lang) {
    return text(lang, key);
  }

  url(path) {
    return `${this.baseUrl}${path}`;
  }

  path() {
    const u = new URL(this.page.url());
    return u.pathname + u.search;
  }

  /** Opens `path` as if typed into the address bar; returns the final response. */
  async visit(path) {
    return this.page.goto(this.url(path));
  }

  /**
   * Runs `action` (a click that submits a form or follows a link) and waits until the next
   * page has loaded; returns that page's response (after any redirects).
   */
  async navigate(action) {
    const mainFrame = this.page.mainFrame();
    let last;
    const onResponse = (response) => {
      if (response.request().isNavigationRequest() && response.frame() === mainFrame) last = response;
    };
    this.page.on('response', onResponse);
    try {
      const loaded = this.page.waitForEvent('load');
      await action();
      await loaded;
    } finally {
      this.page.off('response', onResponse);
    }
    return last;
  }

  /** Clicks the button or link called `name` (in this story's language) and waits for the next page. */
  async click(name, { role = 'button', within } = {}) {
    const scope = within ? this.page.locator(within) : this.page;
    return this.navigate(() => scope.getByRole(role, { name, exact: true }).click());
  }

  async heading() {
    return (await this.page.locator('h1').innerText()).trim();
  }

  /** Asserts the page's main heading is the text under `key`. */
  async expectHeading(key) {
    assert.equal(await this.heading(), this.t(key), `${this.label}: heading on ${this.path()}`);
  }

  async expectPath(path) {
    assert.equal(this.path(), path, `${this.label}: address`);
  }

  async htmlLang() {
    return this.page.locator('html').getAttribute('lang');
  }

  /**
   * The page's one alert (`role=alert`) or status message, as shown. Pages with passkey
   * buttons also carry empty, hidden alerts for the script's errors; those are not shown.
   */
  async message(role = 'alert') {
    return (await this.page.locator(`main [role=${role}]:visible`).innerText()).trim();
  }

  /** Whether the navigation offers to log in (nobody is signed in) rather than to log out. */
  async signedIn() {
    const nav = this.page.getByRole('navigation');
    const logout = await nav.getByRole('button', { name: this.t('nav.logout'), exact: true }).count();
    const login = await nav.getByRole('link', { name: this.t('nav.login'), exact: true }).count();
    assert.equal(logout + login, 1, `${this.label}: the navigation offers exactly one of log in / log out`);
    return logout === 1;
  }

  /**
   * Every page visited goes through here: the page is in the story's language, fits the screen
   * without sideways scrolling, gets a full-page screenshot `<prefix>-<name>-<lang>-<width>.png`,
   * and is checked with axe-core. Serious and critical findings fail the story at its end
   * (`finish`), so one run reports them all; lesser ones are printed.
   */
  async check(name, { lang = this.lang } = {}) {
    const page = this.page;
    await page.waitForLoadState('load');
    assert.equal(await this.htmlLang(), lang, `${this.label}: <html lang> on ${this.path()}`);
    const fit = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    const viewportWidth = WIDTHS[this.width].viewport.width;
    assert.ok(
      fit.scrollWidth <= fit.innerWidth && fit.scrollWidth <= viewportWidth,
      `${this.label}: ${this.path()} scrolls sideways: ${JSON.stringify(fit)} in a ${viewportWidth}px viewport`,
    );

    const file = `${SCREENSHOTS}${this.prefix}-${name}-${this.lang}-${this.width}.png`;
    await page.screenshot({ path: file, fullPage: true });
    this.screenshots.push(file);

    // Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does
    // not govern, so axe runs on the very page the person sees, CSP and all.
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
    const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    for (const v of results.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        const nodes = v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\n\s*/g, ' ')}`);
        this.a11yProblems.push(`${this.path()} [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes.join('\n')}`);
      } else {
        const seen = this.a11yMinor.get(v.id) ?? { line: `[${v.impact}] ${v.id}: ${v.help}`, paths: new Set() };
        seen.paths.add(this.path());
        this.a11yMinor.set(v.id, seen);
      }
    }
  }

  /** Fails on what `check` collected: serious or critical axe findings, or script errors. */
  finish(t) {
    for (const { line, paths } of this.a11yMinor.values()) {
      t.diagnostic(`axe, not failing: ${this.label} ${line} on ${[...paths].join(' ')}`);
    }
    assert.deepEqual(this.pageErrors, [], `${this.label}: script errors on the pages`);
    assert.equal(
      this.a11yProblems.length,
      0,
      `${this.label}: axe found serious or critical problems:\n${this.a11yProblems.join('\n')}`,
    );
  }

  /** Runs one step of the story; a failure names the story and step and keeps a screenshot. */
  async step(name, fn) {
    try {
      await fn();
    } catch (e) {
      const file = `${SCREENSHOTS}FAILED-${this.prefix}-${this.lang}-${this.width}.png`;
      await this.page?.screenshot({ path: file, fullPage: true }).catch(() => {});
      e.message = `[${this.label}] ${name} (at ${this.page ? this.path() : '?'}; screenshot ${file}): ${e.message}`;
      throw e;
    }
  }

  /** Fills the log-in form and submits it; returns the next page's response. */
  async logIn(email, password) {
    await this.page.getByLabel(this.t('field.email'), { exact: true }).fill(email);
    await this.page.getByLabel(this.t('field.password'), { exact: true }).fill(password);
    return this.click(this.t('login.submit'), { within: 'main' });
  }

  async logOut() {
    return this.click(this.t('nav.logout'), { within: 'nav' });
  }
}
