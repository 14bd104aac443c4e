// Drives VS Code (code-server, in headless Chromium through playwright-core) with the Preflight
// extension installed, and checks what a user sees: the status bar item, squiggles on a Python
// settings module and on an env file, the Problems panel with rule ids, the hover, a quick fix
// from the Ctrl+. menu, a settings change turning a rule off, fix-all on save writing the file,
// and the "Preflight: Fix all" and "Preflight: Show output" commands.
//
// Usage: node e2e.js <code-server url> <workspace dir> <user settings.json> <screenshot dir>
// Env: PLAYWRIGHT (path of the playwright-core package), CHROMIUM (default /usr/bin/chromium),
//      STEP_TIMEOUT_MS (default 30000).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const { chromium } = require(process.env.PLAYWRIGHT || 'playwright-core');

const [url, workspace, userSettings, shots] = process.argv.slice(2);
if (!url || !workspace || !userSettings || !shots) {
  console.error('usage: node e2e.js <url> <workspace> <settings.json> <screenshot dir>');
  process.exit(64);
}
const T = Number(process.env.STEP_TIMEOUT_MS || 30000);
const started = Date.now();
const watchdog = setTimeout(() => {
  console.error('FAIL: the whole run took longer than its bound');
  process.exit(124);
}, T * 12);

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

function disk(relative) {
  return fs.readFileSync(path.join(workspace, relative), 'utf8');
}

async function until(what, predicate, timeout = T) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-chromium-'));
  // playwright-core refuses --user-data-dir in args: a persistent context on a new empty dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 850 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || (await browser.newPage());
  page.on('pageerror', (e) => log(`page error: ${String(e).slice(0, 200)}`));
  // Everything the status bar ever showed, also between two polls (the workspace scan is quick).
  await page.addInitScript(() => {
    window.__statusTexts = new Set();
    const record = () => {
      for (const item of document.querySelectorAll('.part.statusbar .statusbar-item')) {
        const text = (item.innerText || '').trim();
        if (text) window.__statusTexts.add(text);
      }
    };
    new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
  });

  const shot = async (name) => {
    const file = path.join(shots, name);
    await page.screenshot({ path: file });
    log(`screenshot ${file}`);
  };
  const squiggles = '.part.editor .monaco-editor .squiggly-error, .part.editor .monaco-editor .squiggly-warning, .part.editor .monaco-editor .squiggly-info';
  const editorText = () => page.$eval('.part.editor .monaco-editor .view-lines', (e) => e.innerText.replace(/\u00a0/g, ' ')).catch(() => '');
  const problemRows = () => page.$$eval('.markers-panel .monaco-list-row', (rows) => rows.map((r) => r.innerText.replace(/\s+/g, ' ').trim())).catch(() => []);

  const open = async (relative) => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: T });
    await page.keyboard.type(relative);
    // The first pick must be this file before Enter opens it.
    await until(`quick open to list ${relative}`, () =>
      page.$eval('.quick-input-list .monaco-list-row.focused', (r) => r.innerText).then((t) => t.includes(path.basename(relative))).catch(() => false));
    await page.keyboard.press('Enter');
    await until(`the editor tab of ${relative}`, () =>
      page.$eval('.part.editor .tab.active', (t) => t.innerText).then((t) => t.includes(path.basename(relative))).catch(() => false));
    log(`opened ${relative}`);
  };
  const focusEditor = async () => {
    // Ctrl+1 focuses the first editor group without moving the caret.
    await page.keyboard.press('Control+1');
  };
  const waitSquiggles = async (what) => {
    await page.waitForSelector(squiggles, { timeout: T });
    log(`squiggles on ${what}`);
  };
  const showProblems = async () => {
    // Focus the Problems view (Ctrl+Shift+M toggles; the command always shows it).
    await runCommand('View: Focus Problems');
    await page.waitForSelector('.markers-panel', { state: 'visible', timeout: T });
  };
  const runCommand = async (title) => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: T });
    await page.keyboard.type(title);
    await until(`the command "${title}" in the palette`, () =>
      page.$eval('.quick-input-list .monaco-list-row.focused', (r) => r.innerText).then((t) => t.includes(title)).catch(() => false));
    await page.keyboard.press('Enter');
  };
  // Settings edited as a user does: "Preferences: Open User Settings (JSON)" (or the workspace's),
  // the text replaced, saved.
  const editSettings = async (command, file, change) => {
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const settings = before.trim() ? JSON.parse(before) : {};
    change(settings);
    await runCommand(command);
    await until('the settings.json editor', () =>
      page.$eval('.part.editor .tab.active', (t) => t.innerText).then((t) => t.includes('settings.json')).catch(() => false));
    if (before.trim()) {
      await until('settings.json to load', async () => (await editorText()).includes('"'));
    }
    await page.waitForTimeout(300);
    await focusEditor();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await until('an empty settings.json', async () => (await editorText()).trim() === '');
    // One insertion, as a paste: typed key by key, the JSON editor reacts to every brace.
    await page.keyboard.insertText(JSON.stringify(settings, null, 2));
    await page.keyboard.press('Control+S');
    await until(`${file} saved`, () => {
      try {
        return JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8'))) === JSON.stringify(settings);
      } catch {
        return false;
      }
    });
    const ours = Object.fromEntries(Object.entries(settings).filter(([k]) => k.startsWith('preflight.')));
    log(`saved ${path.basename(path.dirname(file))}/settings.json: ${JSON.stringify(ours)}`);
  };
  const editUserSettings = (change) => editSettings('Preferences: Open User Settings (JSON)', userSettings, change);
  const squiggleBox = async () => {
    const box = await page.locator(squiggles).first().boundingBox();
    if (!box) throw new Error('squiggle has no box');
    return box;
  };

  let rc = 0;
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: T });
    await page.waitForSelector('.monaco-workbench', { timeout: T });
    log('workbench loaded');

    // 1. The status bar item: the extension found the bundled server and it runs.
    const statusItem = await until('the Preflight status bar item', () =>
      page.$$eval('.part.statusbar .statusbar-item', (items) => items.map((i) => i.innerText.trim()).find((t) => t.includes('Preflight'))));
    log(`status bar: "${statusItem}"`);

    // 2. A Python settings module: squiggle, Problems panel with the rule id, hover.
    await open('config/settings.py');
    await waitSquiggles('config/settings.py');
    await until('the status bar item to say the server runs', async () => {
      const texts = await page.evaluate(() => [...window.__statusTexts]);
      return texts.some((t) => t.includes('Preflight'));
    });
    await showProblems();
    const settingsRows = await until('Problems rows for settings.py', async () => {
      const rows = await problemRows();
      return rows.some((r) => r.includes('SEC001')) && rows;
    });
    log(`problems: ${JSON.stringify(settingsRows)}`);
    // The rule id is a link to the rule's documentation (the diagnostic's codeDescription).
    const links = await page.$$eval('.markers-panel .monaco-list-row a', (as) => as.map((a) => a.innerText.trim()));
    if (!links.includes('SEC001')) throw new Error(`the rule id is not a link: ${JSON.stringify(links)}`);
    await focusEditor();
    let box = await squiggleBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 3);
    // The hover shows VS Code's part (the diagnostic) at once and the server's part when it
    // answers: wait for the server's, which names the rule.
    const hover = await until('the server\'s hover', () =>
      page.$eval('.monaco-hover:not(.hidden)', (h) => h.innerText).then((t) => t.includes('secret-env-default') && t).catch(() => false));
    log(`hover: ${JSON.stringify(hover.slice(0, 400))}`);
    if (hover.includes('What it does')) throw new Error('the hover pastes the whole rule page');
    await shot('1-settings-squiggle-hover-problems.png');

    // 3. Quick fix from the Ctrl+. menu.
    await page.keyboard.press('Escape');
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2 - 3);
    await page.keyboard.press('Control+.');
    const menu = page.locator('.action-widget .monaco-list-row.action');
    await menu.first().waitFor({ timeout: T });
    const titles = await menu.allInnerTexts();
    log(`quick fix menu: ${JSON.stringify(titles)}`);
    await shot('2-settings-quick-fix-menu.png');
    const wanted = titles.findIndex((t) => t.includes('Preflight (SEC001): Fail fast'));
    if (wanted < 0) throw new Error('no SEC001 quick fix in the menu');
    // A pointer-block overlay swallows clicks on the menu: select with the keyboard.
    const focused = await menu.evaluateAll((rows) => rows.findIndex((r) => r.classList.contains('focused')));
    for (let i = Math.max(focused, 0); i < wanted; i++) await page.keyboard.press('ArrowDown');
    for (let i = Math.max(focused, 0); i > wanted; i--) await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await until('the quick fix in the editor', async () => (await editorText()).includes('os.environ["DJANGO_SECRET_KEY"]'));
    await page.keyboard.press('Control+S');
    await until('settings.py saved with the fix', () => disk('config/settings.py').includes('SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]'));
    await until('the SEC001 squiggle to go', async () => (await page.$$(squiggles)).length === 0);
    log('quick fix applied and saved');
    await shot('3-settings-after-quick-fix.png');

    // 4. An env file: squiggles and its Problems entries.
    await open('.env.production');
    await waitSquiggles('.env.production');
    await showProblems();
    const envRows = await until('Problems rows for .env.production', async () => {
      const rows = await problemRows();
      return rows.some((r) => r.includes('CFG018')) && rows.some((r) => r.includes('CFG019')) && rows;
    });
    log(`problems: ${JSON.stringify(envRows)}`);
    await shot('4-env-file-squiggles-problems.png');

    // 5. A settings change turns a rule off, without a reload.
    await editUserSettings((settings) => { settings['preflight.ignore'] = ['CFG019']; });
    await open('.env.production');
    await showProblems();
    const afterIgnore = await until('CFG019 to leave the Problems panel', async () => {
      const rows = await problemRows();
      return !rows.some((r) => r.includes('CFG019')) && rows.some((r) => r.includes('CFG018')) && rows;
    });
    log(`problems after "preflight.ignore": ["CFG019"]: ${JSON.stringify(afterIgnore)}`);
    await shot('5-env-file-rule-turned-off.png');

    // 6. Fix-all on save (editor.codeActionsOnSave source.fixAll.preflight) on a compose file.
    await open('docker-compose.yml');
    await waitSquiggles('docker-compose.yml');
    await focusEditor();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# reviewed');
    await page.keyboard.press('Control+S');
    const compose = await until('docker-compose.yml saved with fix-all', () => {
      const text = disk('docker-compose.yml');
      return text.includes('# reviewed') && text.includes('${DATABASE_PASSWORD:?DATABASE_PASSWORD is required}') && text;
    });
    log(`docker-compose.yml on disk after save:\n${compose}`);
    await until('the compose squiggle to go', async () => (await page.$$(squiggles)).length === 0);
    await shot('6-compose-after-fix-all-on-save.png');

    // 7. The "Preflight: Fix all" command.
    await open('config/production.py');
    await waitSquiggles('config/production.py');
    await focusEditor();
    await runCommand('Preflight: Fix all');
    await until('the fix-all command in the editor', async () => (await editorText()).includes('os.environ["JWT_SECRET"]'));
    await page.keyboard.press('Control+S');
    await until('production.py saved', () => disk('config/production.py').includes('os.environ["JWT_SECRET"]'));
    log('Preflight: Fix all applied');

    // 8. "Preflight: Show output" shows the extension's log.
    await runCommand('Preflight: Show output');
    const outputText = await until('the Preflight output', () =>
      page.$$eval('.part.panel .view-lines', (views) => views.map((v) => v.innerText.replace(/\u00a0/g, ' ')).join('\n'))
        .then((t) => t.includes('server started') && t).catch(() => false));
    log(`output: ${JSON.stringify(outputText.split('\n').filter((l) => l.includes('server')).slice(0, 3))}`);
    await shot('7-output.png');

    // 9. A binary that is too old: a notification that says so and how to fix it.
    const oldServer = process.env.OLD_SERVER;
    if (oldServer) {
      // `preflight.path` names a program to run, so it is a machine setting that a workspace may
      // override (as ruff.path): user settings on a remote such as code-server ignore it.
      await editSettings('Preferences: Open Workspace Settings (JSON)', path.join(workspace, '.vscode', 'settings.json'),
        (settings) => { settings['preflight.path'] = oldServer; });
      const toast = await until('the notification about the old binary', () =>
        page.$$eval('.notifications-toasts .notification-list-item', (items) => items.map((i) => i.innerText.replace(/\s+/g, ' ')).join(' | '))
          .then((t) => t.includes('0.0.9') && t).catch(() => false));
      log(`notification: ${JSON.stringify(toast)}`);
      if (!toast.includes('Open Settings')) throw new Error('the notification offers no way to fix it');
      await shot('8-too-old-binary-notification.png');
    }

    const seen = await page.evaluate(() => [...window.__statusTexts].filter((t) => /preflight/i.test(t)));
    log(`status bar texts seen: ${JSON.stringify(seen)}`);
    // The server's workspace scan reports progress, which VS Code shows in the status bar.
    if (!seen.some((t) => /Preflight: reading the project: \d+\/\d+ files/.test(t))) {
      throw new Error('the workspace scan never showed in the status bar');
    }
    log('OK: VS Code end-to-end passed');
  } catch (e) {
    rc = 1;
    log(`FAIL: ${e && e.message}`);
    await page.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => {});
    log(`screenshot ${path.join(shots, 'failure.png')}`);
  } finally {
    await browser.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  process.exit(rc);
})();
