// Drives headless Chromium through the dashboard over the DevTools protocol (Node's built-in
// WebSocket, no packages): run by tests/browser.rs as
//   node --experimental-websocket drive.mjs <chromium> <base-url> <out-dir> <langs> <widths>
// e.g. `... http://127.0.0.1:4321 /tmp/out zh,en 1280,1920`. For every language and width it
// walks what a person does: overview → a scheme → a grade's list → a filter → a sorted column →
// a customer → the language switch → the export link (fetched: BOM and rows) → trends, cohorts,
// migration. On every page it records console messages, failed loads and what does not fit
// (the page scrolling sideways, a box whose content spills out), and saves a screenshot.
// Prints one JSON document: {"pages": [...], "exports": [...], "failures": [...]}.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromiumPath, base, outDir, langsArg, widthsArg] = process.argv.slice(2);
const langs = langsArg.split(",");
const widths = widthsArg.split(",").map(Number);
const deadline = setTimeout(() => fail("timed out after 240 s"), 240_000);

const profile = mkdtempSync(join(tmpdir(), "clientele-cdp-"));
const chrome = spawn(chromiumPath, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-default-apps", "--disable-extensions", "--no-first-run",
  "--no-default-browser-check", "--hide-scrollbars",
  // no network but the server: host names resolve nowhere (the server is an IP literal)
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server",
  "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank",
], { stdio: ["ignore", "ignore", "pipe"] });

function fail(message) {
  process.stdout.write(JSON.stringify({ fatal: message }) + "\n");
  cleanup();
  process.exit(2);
}
function cleanup() {
  try { chrome.kill("SIGKILL"); } catch (_) { /* gone */ }
  // the kill is not the exit: a browser still shutting down writes into its profile again,
  // which left `clientele-cdp-*` folders behind; remove until it stays gone (at most 3 s)
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 60; i++) {
    try { rmSync(profile, { recursive: true, force: true }); } catch (_) { /* busy */ }
    Atomics.wait(pause, 0, 0, 50);
    if (!existsSync(profile)) break;
  }
}

const wsUrl = await new Promise((resolve, reject) => {
  let buf = "";
  chrome.stderr.on("data", (d) => {
    buf += d.toString();
    const m = buf.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  chrome.on("exit", (code) => reject(new Error(`chromium exited (${code}): ${buf.slice(-2000)}`)));
}).catch((e) => fail(String(e)));

const ws = new WebSocket(wsUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("websocket")); })
  .catch((e) => fail(String(e)));
let nextId = 1;
const pending = new Map();
const listeners = [];
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
  } else if (msg.method) {
    for (const l of listeners.slice()) l(msg);
  }
};
function send(method, params = {}, sessionId) {
  const id = nextId++;
  ws.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function waitFor(pred, ms, what) {
  return new Promise((resolve, reject) => {
    const l = (m) => { if (pred(m)) { listeners.splice(listeners.indexOf(l), 1); clearTimeout(t); resolve(m); } };
    const t = setTimeout(() => { listeners.splice(listeners.indexOf(l), 1); reject(new Error(`no ${what} in ${ms} ms`)); }, ms);
    listeners.push(l);
  });
}

const { targetId } = await send("Target.createTarget", { url: "about:blank" });
const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
const s = (method, params) => send(method, params, sessionId);
await s("Page.enable");
await s("Runtime.enable");
await s("Log.enable");
await s("Network.enable");

// Console messages, uncaught exceptions, log errors and failed loads, for the page open now.
let messages = [];
listeners.push((m) => {
  if (m.sessionId !== sessionId) return;
  if (m.method === "Runtime.consoleAPICalled") {
    messages.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description ?? "").join(" ")}`);
  } else if (m.method === "Runtime.exceptionThrown") {
    const d = m.params.exceptionDetails;
    messages.push(`exception: ${d.exception?.description ?? d.text}`);
  } else if (m.method === "Log.entryAdded" && ["error", "warning"].includes(m.params.entry.level)) {
    messages.push(`log ${m.params.entry.level}: ${m.params.entry.text} ${m.params.entry.url ?? ""}`);
  } else if (m.method === "Network.loadingFailed" && !m.params.canceled) {
    messages.push(`load failed: ${m.params.errorText}`);
  }
});

async function evaluate(expression) {
  const r = await s("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(`${expression.slice(0, 80)}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
  return r.result.value;
}

// Settles a page: fonts loaded, charts drawn (app.js draws on load), two frames.
const SETTLE = `(async () => {
  await document.fonts.ready;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await new Promise((r) => setTimeout(r, 150));
  return true; })()`;

async function loaded(action) {
  const load = waitFor((m) => m.sessionId === sessionId && m.method === "Page.loadEventFired", 20_000, "page load");
  await action();
  await load;
  await evaluate(SETTLE);
}
async function open(url) {
  messages = [];
  await loaded(() => s("Page.navigate", { url }));
}
async function click(selector) {
  messages = [];
  const load = waitFor((m) => m.sessionId === sessionId && m.method === "Page.loadEventFired", 20_000, `load after clicking ${selector}`);
  load.catch(() => {});
  const found = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return false; e.click(); return true; })()`);
  if (!found) throw new Error(`nothing matches ${selector} on ${await evaluate("location.href")}`);
  await load;
  await evaluate(SETTLE);
}

// What does not fit: the page scrolling sideways, the header or nav wider than the window, a
// card or tile whose content spills out of it (a table scrolling inside its box is fine).
const FIT = `(() => {
  const out = [];
  const de = document.documentElement, vw = de.clientWidth;
  if (de.scrollWidth > vw + 1) out.push("page: " + de.scrollWidth + "px wide in a " + vw + "px window");
  for (const el of document.querySelectorAll(".top, .nav, .tabs, .card, .kpi, .filter .row, .list-h")) {
    if (el.scrollWidth > el.clientWidth + 1) {
      const h = el.querySelector("h2, h3, .kpi-l");
      out.push("box " + el.className + " «" + (h ? h.textContent.trim() : "") + "»: " + el.scrollWidth + "px in " + el.clientWidth + "px");
    }
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1) out.push("box " + el.className + " ends at " + Math.round(r.right) + "px in a " + vw + "px window");
  }
  return out; })()`;

const pages = [];
const exports = [];
const failures = [];

async function record(lang, width, step, expectLang) {
  const info = await evaluate(`({
    url: location.pathname + location.search,
    pageLang: document.documentElement.lang,
    title: document.title,
    charts: document.querySelectorAll("[_echarts_instance_]").length,
    canvases: document.querySelectorAll(".chart canvas").length,
    chartDivs: document.querySelectorAll(".chart").length,
    rows: document.querySelectorAll("table.customers tbody tr").length,
    total: (document.querySelector("[data-total]") || {}).dataset?.total ?? null,
    error: (document.querySelector("#error") || {}).textContent ?? null,
    h2: (document.querySelector("main h2") || {}).textContent ?? null,
  })`);
  const overflow = await evaluate(FIT);
  // the page down to its footer (a short page is not padded to the window)
  const height = await evaluate("Math.min(Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY), 7000)");
  const shot = join(outDir, `${lang}-${width}-${step}.png`);
  await s("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
  await evaluate(SETTLE);
  const { data } = await s("Page.captureScreenshot", { format: "png" });
  writeFileSync(shot, Buffer.from(data, "base64"));
  await s("Emulation.setDeviceMetricsOverride", { width, height: 900, deviceScaleFactor: 1, mobile: false });
  const page = { lang, width, step, expectLang, ...info, overflow, messages: messages.slice(), shot };
  pages.push(page);
  return page;
}

try {
  for (const lang of langs) {
    for (const width of widths) {
      await s("Emulation.setDeviceMetricsOverride", { width, height: 900, deviceScaleFactor: 1, mobile: false });
      const other = lang === "zh" ? "en" : "zh";
      await open(`${base}/?lang=${lang}`);
      await record(lang, width, "1-overview", lang);
      await click("#groupings .grouping h3 a");
      await record(lang, width, "2-scheme", lang);
      // the largest grade (the last of the behaviour grades: regular customers)
      await click("#scheme tbody:last-of-type td.name a");
      const grade = await record(lang, width, "3-grade-list", lang);
      // a filter typed into the box and applied with the button
      await evaluate(`document.querySelector("#where").value = "monetary > 500 AND orders >= 2"; true`);
      await click("#apply");
      const filtered = await record(lang, width, "4-filtered", lang);
      filtered.before = grade.total;
      // sorted by a column, largest first (a header clicked twice)
      await click('th a[data-col="monetary"]');
      await click('th a[data-col="monetary"]');
      const sorted = await record(lang, width, "5-sorted", lang);
      sorted.order = await evaluate(`Array.from(document.querySelectorAll("table.customers th")).map((th) => th.className.trim()).join("|")`);
      // the export of this list, fetched as the link would download it
      const ex = await evaluate(`(async () => {
        const a = document.querySelector("#export-csv");
        const r = await fetch(a.href);
        const b = new Uint8Array(await r.arrayBuffer());
        const text = new TextDecoder().decode(b);
        const lines = text.split("\\n").filter((l) => l.length > 0);
        return { href: a.getAttribute("href"), status: r.status, type: r.headers.get("content-type"),
                 disposition: r.headers.get("content-disposition"), count: r.headers.get("x-clientele-customers"),
                 bom: b.length >= 3 && b[0] === 0xEF && b[1] === 0xBB && b[2] === 0xBF, rows: lines.length - 1,
                 total: Number(document.querySelector("[data-total]").dataset.total) };
      })()`);
      exports.push({ lang, width, ...ex });
      await click("table.customers td.id a");
      await record(lang, width, "6-customer", lang);
      await click("#lang-switch");
      await record(lang, width, "7-customer-switched", other);
      for (const [i, p] of ["trends", "cohorts", "migration"].entries()) {
        await open(`${base}/${p}?lang=${lang}`);
        await record(lang, width, `${8 + i}-${p}`, lang);
      }
    }
  }
} catch (e) {
  failures.push(String(e && e.stack || e));
}
clearTimeout(deadline);
process.stdout.write(JSON.stringify({ pages, exports, failures }) + "\n");
ws.close();
cleanup();
process.exit(0);
