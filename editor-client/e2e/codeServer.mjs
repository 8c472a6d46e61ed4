// code-server for the end-to-end test: private folders (XDG_*, user data, extensions), the .vsix
// installed, user settings written, the server on 127.0.0.1 with an OS-chosen port.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Folders under `runDir` (emptied first) and the environment that points code-server at them. */
export function prepare(runDir) {
  fs.rmSync(runDir, { recursive: true, force: true });
  const dirs = {
    run: runDir,
    userData: path.join(runDir, "user-data"),
    extensions: path.join(runDir, "extensions"),
    profile: path.join(runDir, "chromium-profile"),
    workspace: path.join(runDir, "workspace"),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  const env = { ...process.env };
  const xdg = { XDG_CONFIG_HOME: "config", XDG_DATA_HOME: "data", XDG_CACHE_HOME: "cache", XDG_STATE_HOME: "state", XDG_RUNTIME_DIR: "runtime" };
  for (const [key, name] of Object.entries(xdg)) {
    env[key] = path.join(runDir, "xdg", name);
    fs.mkdirSync(env[key], { recursive: true, mode: 0o700 });
  }
  // Not inherited from an outer VS Code / code-server session.
  for (const key of Object.keys(env)) if (key.startsWith("VSCODE_")) delete env[key];
  return { dirs, env };
}

/**
 * Writes the user settings. code-server's window is a remote window: settings of machine scope
 * (magicoder.pythonPath, magicoder.model) are read from the remote's Machine settings, not the user's.
 */
export function writeUserSettings(dirs, settings, machine = {}) {
  for (const [folder, values] of [["User", settings], ["Machine", machine]]) {
    const file = path.join(dirs.userData, folder, "settings.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(values, null, 2));
  }
}

function commonArgs(dirs) {
  return ["--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions];
}

/** `code-server --install-extension VSIX`; throws with its output when it fails. */
export function installExtension(bin, vsix, dirs, env) {
  const result = spawnSync(bin, [...commonArgs(dirs), "--install-extension", vsix, "--force"], {
    env,
    encoding: "utf8",
    timeout: 120_000,
  });
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0) throw new Error(`code-server --install-extension failed (${result.status}):\n${output}`);
  return output;
}

/**
 * Starts code-server on 127.0.0.1 (port chosen by the OS) with no auth; resolves with the process and
 * its URL once it listens. Its output goes to `logFile`. `trust: true` keeps workspace trust on.
 */
export function start(bin, dirs, env, logFile, timeoutMs = 60_000, { trust = false } = {}) {
  const config = path.join(dirs.run, "config.yaml");
  fs.writeFileSync(config, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
  const args = [
    ...commonArgs(dirs),
    "--config", config,
    "--bind-addr", "127.0.0.1:0",
    "--auth", "none",
    "--disable-telemetry",
    "--disable-update-check",
    // `trust`: workspace trust on (a folder opens in Restricted Mode until trusted).
    ...(trust ? [] : ["--disable-workspace-trust"]),
    "--disable-getting-started-override",
    "--disable-proxy",
    "--ignore-last-opened",
    dirs.workspace,
  ];
  const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const log = fs.createWriteStream(logFile);
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start in ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (chunk) => {
      log.write(chunk);
      seen += chunk.toString();
      const match = seen.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)\/?/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening:\n${seen}`));
    });
  });
}

/** The extension's output channel as VS Code writes it to disk (all windows). */
export function magicoderLog(userData) {
  const logs = path.join(userData, "logs");
  const files = fs.existsSync(logs) ? fs.readdirSync(logs, { recursive: true }).filter((f) => f.endsWith("Magicoder.log")) : [];
  return files.map((f) => fs.readFileSync(path.join(logs, f), "utf8")).join("\n");
}

/** The remote's Machine settings as code-server has them now (machine-scoped settings are written there). */
export function machineSettings(userData) {
  const file = path.join(userData, "Machine", "settings.json");
  if (!fs.existsSync(file)) return {};
  const text = fs.readFileSync(file, "utf8").trim();
  return text ? JSON.parse(text.replace(/^\s*\/\/.*$/gm, "")) : {};
}

/** The user settings as code-server has them now. */
export function userSettings(userData) {
  const file = path.join(userData, "User", "settings.json");
  if (!fs.existsSync(file)) return {};
  const text = fs.readFileSync(file, "utf8").trim();
  return text ? JSON.parse(text.replace(/^\s*\/\/.*$/gm, "")) : {};
}

/** Copies the extension's log and the extension host's log into `artifacts`. */
export function copyLogs(userData, artifacts) {
  const logs = path.join(userData, "logs");
  if (!fs.existsSync(logs)) return;
  for (const entry of fs.readdirSync(logs, { recursive: true })) {
    const name = path.basename(entry);
    if (name === "Magicoder.log" || name === "remoteexthost.log") fs.copyFileSync(path.join(logs, entry), path.join(artifacts, name));
  }
}
