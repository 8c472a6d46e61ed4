// Process-tree helpers (Linux /proc): stop a process and everything it started, by pid.
import * as fs from "node:fs";

/** pid → parent pid for every process now alive. */
function parents() {
  const out = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Every descendant of `root` (children before their own children), not `root` itself. */
export function descendants(root) {
  const children = new Map();
  for (const [pid, ppid] of parents()) {
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const out = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.shift();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Alive and not a zombie (a zombie is dead; whoever adopted it reaps it). */
export function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops `pids` (and everything they started, listed before any is signalled so that reparented
 * grandchildren are not missed): SIGTERM, then SIGKILL after `graceMs`. Returns the pids it stopped.
 */
export async function stopTree(pids, graceMs = 3000) {
  const all = [...new Set(pids.flatMap((pid) => [pid, ...descendants(pid)]))].filter(alive);
  for (const pid of all) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (all.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of all.filter(alive)) signal(pid, "SIGKILL");
  return all;
}
