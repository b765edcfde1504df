import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stripAnalytics } from '../../harness/nightly/allure.ts';
import { tempDir } from './support/temp-dir.ts';

/** The tag manager block as Allure 3's report template writes it into each page. */
const GTAG = `<script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', { "report": "awesome" });
    </script>`;

describe("the report's pages call no third party", () => {
  it("Allure's analytics block is cut from each page, and the page's own scripts stay", () => {
    const dir = tempDir('m3lab-analytics-');
    const page = `<html><body><div id="app"></div><script>window.allure = {};</script>\n    ${GTAG}\n    <script src="data:x"></script></body></html>`;
    writeFileSync(path.join(dir, 'index.html'), page);
    writeFileSync(path.join(dir, 'plain.html'), '<html><script>window.allure = {};</script></html>');
    expect(stripAnalytics(dir)).toBe(1);
    const after = readFileSync(path.join(dir, 'index.html'), 'utf8');
    expect(after).not.toContain('googletagmanager');
    expect(after).not.toContain('gtag(');
    expect(after).toContain('window.allure = {};');
    expect(after).toContain('<script src="data:x"></script>');
    expect(readFileSync(path.join(dir, 'plain.html'), 'utf8')).toBe('<html><script>window.allure = {};</script></html>');
    // Cut once: a second pass finds nothing.
    expect(stripAnalytics(dir)).toBe(0);
  });

  it("the installed Allure's report template still has the block this cuts (else the cut is dead code, and the browser check says so)", () => {
    const tpl = readFileSync(path.resolve(import.meta.dirname, '../../node_modules/@allurereport/plugin-awesome/dist/generators.js'), 'utf8');
    const block = /<script async src="https:\/\/www\.googletagmanager\.com[\s\S]*?<\/script>\s*<script>[\s\S]*?<\/script>/.exec(tpl)?.[0];
    expect(block).toBeDefined();
    const dir = tempDir('m3lab-analytics-');
    writeFileSync(path.join(dir, 'index.html'), `<html>${block!.replace(/\{\{[^}]*\}\}/g, 'x')}</html>`);
    expect(stripAnalytics(dir)).toBe(1);
  });
});
