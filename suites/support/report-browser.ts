import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { cmdline, descendants, isAlive, processesWithArg } from '../../harness/host/procs.ts';
import { waitUntil } from '../../harness/host/wait.ts';

/**
 * The report as a person sees it: Allure 3's single-file report (index.html,
 * its data inside) opened from a file:// URL in Debian's headless Chromium,
 * driven over the DevTools protocol by puppeteer-core (which downloads no
 * browser of its own). The report is an app: its tree, test pages and
 * attachments exist only once its script has run, so a browser that runs it
 * and clicks through it is what a check of "the report shows X" needs.
 *
 * Every wait is bounded by STEP (the caller scales it with the host); the
 * browser keeps its profile in a temp folder and no process of it outlives
 * withChromium, whether the check passed or not.
 */

/** Debian's chromium (the Makefile installs it); M3LAB_CHROMIUM points elsewhere. */
export const chromiumPath = () => process.env.M3LAB_CHROMIUM || '/usr/bin/chromium';

/** A browser process and those below it, by the profile folder every one of them names. */
function browserProcesses(profile: string, pid: number | undefined): number[] {
  const own = processesWithArg(`--user-data-dir=${profile}`);
  const below = pid === undefined ? [] : [pid, ...descendants(pid)].filter((p) => (cmdline(p) ?? '').includes('chromium'));
  return [...new Set([...own, ...below])].filter(isAlive);
}

/**
 * Runs FN with a headless Chromium of its own, then closes it: a polite close,
 * then SIGKILL to whatever of it still runs after STEP. A browser process left
 * after that fails the run (after FN's own error, if any, which wins).
 */
export async function withChromium<T>(stepMs: number, fn: (browser: Browser) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'm3lab-chromium-'));
  let browser: Browser | undefined;
  let failed = false;
  try {
    browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      userDataDir: profile,
      // A root user's Chromium runs only without its sandbox; the DevTools protocol over a pipe, not a TCP port.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--no-first-run'],
      pipe: true,
      timeout: stepMs,
      protocolTimeout: stepMs,
    });
    return await fn(browser);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    const pid = browser?.process()?.pid;
    const seen = browserProcesses(profile, pid);
    const stillRunning = () => [...new Set([...browserProcesses(profile, pid), ...seen.filter(isAlive)])];
    if (browser) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, stepMs)))]);
      clearTimeout(timer);
    }
    let left: number[] = [];
    await waitUntil(() => (left = stillRunning()).length === 0, { what: "Chromium's processes to end", timeoutMs: stepMs, intervalMs: 100, onTimeout: 'return' });
    const described = left.map((p) => `${p} ${(cmdline(p) ?? '').slice(0, 100)}`);
    for (const p of left) {
      try {
        if ((cmdline(p) ?? '').includes('chromium')) process.kill(p, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    rmSync(profile, { recursive: true, force: true });
    if (left.length && !failed) throw new Error(`Chromium outlived its close by ${stepMs} ms (killed): ${described.join('; ')}`);
  }
}

/**
 * A new tab on the report, from a file:// URL. The report is meant to open with
 * no network: anything but file:, data: and blob: (the report's own analytics
 * script, whatever a later Allure may add) is refused, so the check never
 * waits on or reaches the outside.
 */
export async function openReport(browser: Browser, indexHtml: string, stepMs: number): Promise<{ page: Page; refused: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(stepMs);
  page.setDefaultNavigationTimeout(stepMs);
  await page.setViewport({ width: 1400, height: 1000 });
  const refused: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    if (/^(file|data|blob):/.test(r.url())) void r.continue();
    else (refused.push(r.url()), void r.abort());
  });
  await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load' });
  return { page, refused };
}

/** An XPath literal for any text (quotes of both kinds included). */
const xpathLiteral = (s: string) => (!s.includes('"') ? `"${s}"` : !s.includes("'") ? `'${s}'` : `concat(${s.split('"').map((p) => `"${p}"`).join(`, '"', `)})`);

/**
 * Opens the page of the test named NAME as a person would: clicks its leaf in
 * the report's tree. The awesome report routes a test's page by hash
 * (index.html#<test result id>, the leaf's id); returns that id.
 */
export async function openTestResult(page: Page, name: string): Promise<string> {
  const leaf = await page.waitForSelector(`::-p-xpath(//*[@data-testid="tree-leaf"][.//*[@data-testid="tree-leaf-title"][normalize-space()=${xpathLiteral(name)}]])`).catch(async (e: Error) => {
    const titles = await page.$$eval('[data-testid="tree-leaf-title"]', (els) => els.map((x) => x.textContent?.trim())).catch(() => []);
    throw new Error(`the report's tree shows no test named "${name}" (it shows ${JSON.stringify(titles)}): ${e.message.split('\n')[0]}`);
  });
  const id = await leaf!.evaluate((e) => e.id);
  await leaf!.click();
  await page.waitForFunction(
    (n: string, h: string) => location.hash === `#${h}` && document.querySelector('[data-testid="test-result-info-title"]')?.textContent?.trim() === n,
    {},
    name,
    id,
  );
  return id;
}

/**
 * Opens (expands) the attachment of the open test page whose name starts with
 * PREFIX, and returns the text its preview shows. One attachment, the first of
 * that name: a report whose preview shows another's text fails the caller's check.
 */
export async function openAttachment(page: Page, prefix: string): Promise<string> {
  // The attachment's name is a text of its own in the header's toggle button.
  const name = await page.waitForSelector(`::-p-xpath(//*[@data-testid="test-result-attachment-header"]//*[not(*)][starts-with(normalize-space(), ${xpathLiteral(prefix)})])`);
  const box = (await name!.evaluateHandle((e) => e.closest('[data-testid="test-result-attachment"]'))).asElement() as ElementHandle<Element> | null;
  if (!box) throw new Error(`attachment "${prefix}": its name is outside any attachment of the page`);
  const content = '[data-testid="code-attachment-content"]';
  if (!(await box.$(content))) await name!.click();
  const shown = await box.waitForSelector(content);
  await shown!.scrollIntoView();
  return (await shown!.evaluate((e) => (e as HTMLElement).innerText)) ?? '';
}

/** All the text the page shows now. */
export const shownText = (page: Page): Promise<string> => page.evaluate(() => document.body.innerText);
