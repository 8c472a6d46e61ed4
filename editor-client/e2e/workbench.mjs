// Driving the VS Code workbench in Chromium (playwright-core) with the keyboard: the pointer is
// blocked by overlays, and the editor renders spaces as NBSP.
import { chromium } from "playwright-core";

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export async function launch(profileDir, executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium") {
  return chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
  });
}

export const text = (s) => (s ?? "").replace(/\u00a0/g, " ");

/** Polls `probe` until it returns a truthy value; throws `what` on timeout. */
export async function until(what, probe, timeoutMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${String(last)})` : ""}`);
}

export class Workbench {
  constructor(page) {
    this.page = page;
    this.keyboard = page.keyboard;
  }

  async open(url, folder) {
    await this.page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
    await this.page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
    await this.page.locator(".statusbar").waitFor();
  }

  /** The status bar entries' texts. */
  async statusBar() {
    return (await this.page.locator(".statusbar .statusbar-item").allInnerTexts()).map(text);
  }

  async statusItem(pattern) {
    return (await this.statusBar()).find((t) => pattern.test(t));
  }

  /** The tooltip of the status bar item whose text matches `pattern`, as shown when the pointer rests on it. */
  async statusTooltip(pattern) {
    const item = this.page.locator(".statusbar .statusbar-item").filter({ hasText: pattern }).first();
    const hover = this.page.locator(".workbench-hover, .monaco-hover").filter({ visible: true });
    return until(`the tooltip of the status bar item ${pattern}`, async () => {
      await this.page.mouse.move(0, 0);
      await item.hover({ timeout: 3000 });
      await hover.first().waitFor({ timeout: 3000 });
      return text(await hover.first().innerText()).trim();
    });
  }

  /** Types `value` into the open input box (e.g. one a command shows) and presses Enter; returns its prompt. */
  async answerInputBox(value) {
    const box = this.page.locator(".quick-input-widget input");
    await box.waitFor();
    const message = this.page.locator(".quick-input-widget .quick-input-message");
    const prompt = (await message.count()) ? text(await message.first().innerText()).trim() : "";
    await box.fill(value);
    await this.keyboard.press("Enter");
    return prompt;
  }

  /**
   * Opens the quick input with `key`, types `query`, focuses the row labelled `expect` (or waits a
   * moment), presses Enter. A lost key press or a quick input closed by a focus change is retried.
   */
  async quickInput(key, query, expect) {
    const input = this.page.locator(".quick-input-widget input");
    const label = this.page.locator(".quick-input-list .monaco-list-row.focused .label-name");
    const focusedIs = async () => (await label.count()) > 0 && text(await label.first().innerText()).trim() === expect;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.keyboard.press(key);
        await input.fill(query, { timeout: 3000 });
        if (expect) {
          await until(`the quick input to list "${expect}"`, async () => (await label.count()) > 0, 5000);
          for (let row = 0; row < 20 && !(await focusedIs()); row++) await this.keyboard.press("ArrowDown");
          if (!(await focusedIs())) throw new Error(`no "${expect}" in the quick input`);
        } else {
          await this.page.waitForTimeout(300);
        }
        if (!(await input.isVisible())) throw new Error("the quick input closed");
        await this.keyboard.press("Enter");
        return;
      } catch (error) {
        if (attempt === 4) throw error;
        await this.keyboard.press("Escape");
        await this.page.waitForTimeout(500);
      }
    }
  }

  /** Runs a command from the palette by its title. */
  async command(title) {
    await this.quickInput("F1", `>${title}`, title);
  }

  /** Quick Open: a file by name, or `:N` for a line. */
  async quickOpen(query, expect) {
    await this.quickInput("Control+P", query, expect);
  }

  async openFile(name) {
    await this.quickOpen(name, name);
    await this.page.locator(`.tab[data-resource-name="${name}"], .tab:has-text("${name}")`).first().waitFor();
    await this.page.locator(".monaco-editor .view-lines").first().waitFor();
  }

  async goToLine(line) {
    await this.quickOpen(`:${line}`);
    await until(`the cursor on line ${line}`, () => this.statusItem(new RegExp(`^Ln ${line}, Col 1$`)));
  }

  /** Focused row of the code action menu (Ctrl+.), or undefined when it is closed. */
  async focusedAction() {
    const rows = this.page.locator(".action-widget .monaco-list-row.focused");
    return (await rows.count()) ? text(await rows.first().innerText()) : undefined;
  }

  /** Opens the code action menu and picks the action whose title contains `title` (`beforePick` runs first). */
  async codeAction(title, beforePick = async () => undefined, maxSteps = 20) {
    await this.keyboard.press("Control+.");
    await until("the code action menu", () => this.focusedAction());
    for (let step = 0; step < maxSteps; step++) {
      const focused = await this.focusedAction();
      if (focused?.includes(title)) {
        await beforePick();
        await this.keyboard.press("Enter");
        return focused;
      }
      await this.keyboard.press("ArrowDown");
      await this.page.waitForTimeout(50);
    }
    const all = await this.page.locator(".action-widget .monaco-list-row").allInnerTexts();
    throw new Error(`no code action "${title}" in the menu: ${JSON.stringify(all.map(text))}`);
  }

  /** Sets a number or text setting in the Settings editor (as a user would), then closes it. */
  async setSetting(id, value) {
    await this.command("Preferences: Open User Settings");
    const search = this.page.locator(".settings-editor .suggest-input-container textarea, .settings-editor .search-container input, .settings-editor .search-container textarea").first();
    await search.waitFor();
    await search.fill(id);
    const input = this.page.locator(`.settings-editor [data-key="${id}"] input`).first();
    await until(`the setting ${id} in the Settings editor`, () => input.isVisible());
    await input.fill(value);
    await this.keyboard.press("Tab");
  }

  /** The ghost text (inline completion) now shown, or "". */
  async ghostText() {
    const parts = await this.page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").allInnerTexts();
    return text(parts.join(""));
  }

  async notifications() {
    return (await this.page.locator(".notifications-toasts .notification-toast").allInnerTexts()).map(text);
  }

  async save() {
    await this.keyboard.press("Control+S");
    await until("the file to be saved", async () => (await this.page.locator(".tab.active.dirty").count()) === 0);
  }

  async screenshot(file) {
    await this.page.screenshot({ path: file });
    return file;
  }
}
