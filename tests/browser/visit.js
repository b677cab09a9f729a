// Loads pages in the system Chromium (headless, through playwright-core) and reports what a
// user would see on each: the HTTP status, the text, every table's cells, every chart's series
// paths, where the Tab key goes, and a full-page screenshot. It asserts nothing: the Rust test
// that runs it (tests/it/ui.rs) reads the JSON it prints and decides.
//
// Input, as JSON on stdin:
//   { "playwright": "<folder of the playwright-core package>",
//     "chromium": "/usr/bin/chromium", "profile": "<fresh folder>", "shots": "<folder>",
//     "pages": [ { "name": "runs", "url": "http://…", "tabs": 40,
//                  "activate": ["<text of a link in the table head>", …],
//                  "wait_for": ["<text to wait for before reading the page>", …],
//                  "wait_for_link": ["<text an href must contain before reading>", …] } ] }
// Output, as JSON on stdout: [ { "name", "url", "status", "title", "text", "links", "tables",
//   "charts", "tab_stops", "after": [ { …the same, for each page an activated link opened } ] } ]
"use strict";

const fs = require("fs");
const path = require("path");

function readStdin() {
  return fs.readFileSync(0, "utf8");
}

// What the page shows, read from the DOM.
async function observe(page) {
  return page.evaluate(() => {
    const cells = (row) => Array.from(row.cells).map((c) => c.innerText.trim());
    return {
      url: location.pathname + location.search,
      title: document.title,
      text: document.body ? document.body.innerText : "",
      links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.getAttribute("href")),
      tables: Array.from(document.querySelectorAll("table")).map((t) => ({
        head: t.tHead ? Array.from(t.tHead.rows).map(cells) : [],
        rows: Array.from(t.tBodies).flatMap((b) => Array.from(b.rows).map(cells)),
      })),
      charts: Array.from(document.querySelectorAll("figure.chart svg")).map((svg) => ({
        label: svg.getAttribute("aria-label") || "",
        paths: svg.querySelectorAll("g.series path").length,
        points: svg.querySelectorAll("g.series circle").length,
        series: svg.querySelectorAll("g.series").length,
        width: svg.getBoundingClientRect().width,
      })),
    };
  });
}

// The elements the Tab key reaches, in order: tag, text and whether it sits in a table head.
async function tabStops(page, count) {
  const stops = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("Tab");
    const stop = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      return {
        tag: el.tagName.toLowerCase(),
        text: (el.innerText || el.value || "").trim(),
        href: el.getAttribute("href"),
        in_head: !!el.closest("thead"),
      };
    });
    if (stop) stops.push(stop);
  }
  return stops;
}

async function main() {
  const input = JSON.parse(readStdin());
  const { chromium } = require(input.playwright);
  fs.mkdirSync(input.shots, { recursive: true });
  const context = await chromium.launchPersistentContext(input.profile, {
    executablePath: input.chromium,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
  const report = [];
  try {
    const page = await context.newPage();
    for (const p of input.pages) {
      const response = await page.goto(p.url, { waitUntil: "load", timeout: 60000 });
      // A page drawn by a script (MLflow's own UI) is read once it shows these texts.
      for (const text of p.wait_for || []) {
        await page.getByText(text).first().waitFor({ state: "visible", timeout: 120000 });
      }
      // …and these links, which such a page may fetch after its first texts.
      for (const part of p.wait_for_link || []) {
        await page
          .locator(`a[href*=${JSON.stringify(part)}]`)
          .first()
          .waitFor({ state: "attached", timeout: 120000 });
      }
      const seen = await observe(page);
      seen.name = p.name;
      seen.status = response ? response.status() : 0;
      await page.screenshot({ path: path.join(input.shots, `${p.name}.png`), fullPage: true });
      if (p.tabs) {
        seen.tab_stops = await tabStops(page, p.tabs);
      }
      seen.after = [];
      for (const [i, text] of (p.activate || []).entries()) {
        // Reach the header link by keyboard and follow it with Enter, as a user without a mouse.
        const link = page.locator("thead a", { hasText: text }).first();
        await link.focus();
        await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("Enter")]);
        seen.after.push(await observe(page));
        await page.screenshot({
          path: path.join(input.shots, `${p.name}-${i + 1}.png`),
          fullPage: true,
        });
      }
      report.push(seen);
    }
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify(report));
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
