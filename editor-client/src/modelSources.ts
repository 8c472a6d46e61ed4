// Magicoder: Get Model's first question, where the model comes from: Magicoder-S-DS-6.7B from Hugging Face (with
// this machine's figures, computed by a preflight while the quick pick is open), a Hugging Face folder on this
// machine, or a folder exported before.
import * as vscode from "vscode";
import { preflight } from "./exporterRuns";
import { log } from "./logger";
import { describeFigures, Figures, figuresBody } from "./progress";

export const MODEL_ID = "ise-uiuc/Magicoder-S-DS-6.7B";

export type SourceKind = "hub" | "hf" | "exported";

export interface PickedSource {
  kind: SourceKind;
  /** The Hugging Face model's figures for this machine, once its preflight is done (undefined: unavailable). */
  hubFigures: () => Promise<Figures | undefined>;
}

/** The quick pick of the model sources (`hubOut`: the folder the Hugging Face model would be exported to). */
export async function pickModelSource(python: string, target: string, precision: string, hubOut: string): Promise<PickedSource | undefined> {
  type Item = vscode.QuickPickItem & { kind_: SourceKind };
  const hubItem: Item = {
    label: "$(cloud-download) Magicoder-S-DS-6.7B from Hugging Face",
    description: `${precision} for ${target.toUpperCase()}`,
    detail: "computing what it needs on this machine…",
    kind_: "hub",
  };
  const items: Item[] = [
    hubItem,
    { label: "$(folder) A Hugging Face model folder on this machine", description: "config.json and *.safetensors", detail: `exported for ${target.toUpperCase()} (${precision}) and checked against it`, kind_: "hf" },
    { label: "$(folder-active) A model folder exported before", description: "magicoder-export build or describe", detail: "checked with magicoder-export describe, then used as it is", kind_: "exported" },
  ];
  const quickPick = vscode.window.createQuickPick<Item>();
  quickPick.title = "Magicoder: Get Model";
  quickPick.placeholder = "Where does the model come from?";
  quickPick.items = items;
  quickPick.ignoreFocusOut = true;
  quickPick.busy = true;
  let hubFigures: Figures | undefined;
  const figuresReady = preflight(python, MODEL_ID, target, hubOut).then((figures) => {
    hubFigures = figures;
    hubItem.detail = figures ? (figures.ok ? "" : "this machine is short of it: ") + figuresBody(figures) : "figures unavailable (see the log)";
    if (figures) log.info(`Get Model: ${MODEL_ID}: ${describeFigures(figures)}`);
    quickPick.items = [...items];
    quickPick.busy = false;
  });
  const picked = await new Promise<Item | undefined>((resolve) => {
    quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0]));
    quickPick.onDidHide(() => resolve(undefined));
    quickPick.show();
  });
  quickPick.dispose();
  if (!picked) return undefined;
  return {
    kind: picked.kind_,
    hubFigures: async () => {
      await figuresReady;
      return hubFigures;
    },
  };
}
