// The first-run check, the pure part: what the user still has to do before Magicoder answers (the next step),
// and whether to say so (one notification per step, ever: not on every start). No runtime dependency on vscode.
import type { Backend } from "./settings";

/** The steps of the walkthrough that can be missing: a working server, a model (local) or an endpoint (team). */
export type Step = "server" | "model" | "endpoint";

export interface Facts {
  /** An interpreter with magicoder-lsp was found and the server started. */
  serverFound: boolean;
  backend: Backend;
  model: string; // magicoder.model ("" when unset)
  modelEnv: string; // $MAGICODER_MODEL, which the server also reads ("" when unset)
  endpoint: string; // magicoder.endpoint (user settings)
}

export const SETUP_SERVER = "magicoder.setupServer";
export const GET_MODEL = "magicoder.getModel";
export const OPEN_SAMPLE = "magicoder.openSample";
/** The walkthrough, as `workbench.action.openWalkthrough` names it: publisher.name#id. */
export const WALKTHROUGH = "magicoder-lsp.magicoder-lsp#magicoder.gettingStarted";

/** The next step, or undefined when Magicoder can answer (as far as settings tell). */
export function nextStep(f: Facts): Step | undefined {
  if (!f.serverFound) return "server";
  if (f.backend === "openai") return f.endpoint ? undefined : "endpoint";
  return f.model || f.modelEnv ? undefined : "model";
}

export interface Notice {
  message: string;
  action: { title: string; command: string; args: unknown[] };
}

export const NOTICES: Record<Step, Notice> = {
  server: {
    message:
      "the language server is not set up yet. Set Up Server installs it into a Python environment of its own " +
      "(a minute or two; no terminal needed).",
    action: { title: "Set Up Server", command: SETUP_SERVER, args: [] },
  },
  model: {
    message:
      "the server runs. Next, get the model: Get Model exports Magicoder-S-DS-6.7B for this machine (or uses a " +
      "folder you have). With a team's inference server, run Set Up Server again and pick it instead.",
    action: { title: "Get Model", command: GET_MODEL, args: [] },
  },
  endpoint: {
    message: "magicoder.backend is openai, but no magicoder.endpoint is set: name your team's inference server.",
    action: { title: "Set Up Team Server", command: SETUP_SERVER, args: ["team"] },
  },
};

/** Whether to notify about `step`: once per step (`shown` is what was notified before, kept across starts). */
export function shouldNotify(step: Step | undefined, shown: readonly string[]): step is Step {
  return step !== undefined && !shown.includes(step);
}

/** The walkthrough's context keys (its steps' completion events), from the facts. */
export function contextKeys(f: Facts): Record<string, boolean> {
  return {
    "magicoder.serverReady": f.serverFound,
    "magicoder.modelReady": f.serverFound && f.backend === "local" && Boolean(f.model || f.modelEnv),
    "magicoder.endpointReady": f.serverFound && f.backend === "openai" && Boolean(f.endpoint),
  };
}

/** The sample the walkthrough's last step opens: an instruction comment above a function to change. */
export const SAMPLE = [
  "# Select the function below (with its comment), press Ctrl+. (Cmd+. on macOS) and pick",
  "# \"Ask Magicoder: …\". Or select code and run Magicoder: Ask… to type what you want.",
  "",
  "# return the sum of the squares of xs, skipping None",
  "def sum_squares(xs):",
  "    total = 0",
  "    for x in xs:",
  "        total += x",
  "    return total",
  "",
].join("\n");
/** The lines (0-based, end exclusive) the sample selects: the instruction comment and the function. */
export const SAMPLE_SELECTION = { start: 3, end: 9 };
