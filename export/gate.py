"""Where the parity gate can run, the "pending" report of a folder it could not check, and
`magicoder-export validate DIR`: the gate run again on a finished model folder.

A graph exported for cuda is gated on the GPU.  On a machine where CUDA is not usable (no CUDA
provider in this onnxruntime, or its libraries do not load) it is published unchecked, with a
parity.json whose status is "pending" and the command that checks it on the GPU machine: onnxruntime's
CPU kernels would need fp32 copies of its weights (about 27 GB for Magicoder-S-DS-6.7B).
"""

from __future__ import annotations

import functools
import logging
import shlex
from dataclasses import asdict
from pathlib import Path

from lsp_server.engine import cuda_works
from lsp_server.engine import manifest as manifest_mod
from lsp_server.engine.gate import PENDING, UNREADABLE, GateStatus, read_status
from lsp_server.engine.manifest import Manifest

from . import source as source_mod
from .describe import package_versions
from .importer import consistency
from .options import BuildOptions
from .resources import track_phases
from .validate import GATES, ParityError, ParityReport, validate

log = logging.getLogger("magicoder-export")


def _probe_model() -> bytes:
    """The smallest graph a CUDA session can be created for."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "cuda-probe", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@functools.cache
def cuda_usable() -> bool:
    """Whether onnxruntime can run a session on the GPU here (the engine's own provider choice)."""
    return cuda_works(_probe_model())


def gate_is_pending(options: BuildOptions) -> bool:
    """A cuda graph is not gated without a usable GPU, unless asked to be (--gate-on-cpu)."""
    return options.target == "cuda" and not options.gate_on_cpu and not cuda_usable()


def check_command(folder: Path, reference: str) -> str:
    return f"magicoder-export validate {shlex.quote(str(folder))} --reference {shlex.quote(reference)}"


def pending_report(manifest: Manifest, command: str) -> ParityReport:
    """The report of a folder published without its parity check."""
    return ParityReport(
        precision=manifest.precision,
        new_tokens=0,
        thresholds=asdict(GATES[manifest.precision]),
        passed=False,
        status=PENDING,
        versions=package_versions(),
        note=f"not checked: exported for {manifest.target} on a machine where CUDA is not usable; "
        f"check it on the GPU machine with `{command}`",
    )


# -- magicoder-export validate DIR ------------------------------------------------------------


def recorded_reference(folder: Path, manifest: Manifest) -> str | None:
    """The manifest's source when it can serve as the reference: a checkpoint folder that still exists, or a Hub id."""
    source = manifest.source
    local = Path(source).expanduser()
    if local.is_dir():
        return source if local.resolve() != folder and (local / "config.json").is_file() else None
    return source if source_mod.is_hub_id(source) else None


def fetch_reference(name: str, cache_dir: Path | None) -> Path:
    """The reference checkpoint's local folder (downloading a Hub id)."""
    try:
        return source_mod.fetch(source_mod.inspect(name, cache_dir), cache_dir)
    except OSError as exc:  # a missing folder, or huggingface_hub's network and repository errors
        raise FileNotFoundError(
            f"cannot use {name} as the reference checkpoint: {exc} (pass --reference HF_DIR_OR_HUB_ID)"
        ) from exc


def reference_dir(folder: Path, manifest: Manifest, reference: str | None, cache_dir: Path | None) -> Path | None:
    """The checkpoint to compare with: --reference, else the manifest's source, else None (no parity check)."""
    name = reference or recorded_reference(folder, manifest)
    if name is None:
        log.warning(
            "[validate] no reference checkpoint (the manifest's source %r is neither a checkpoint folder nor a Hub "
            "id): checking the graph against itself only; pass --reference HF_DIR_OR_HUB_ID for the parity gate",
            manifest.source,
        )
        return None
    log.info("[validate] reference checkpoint: %s%s", name, "" if reference else " (the manifest's source)")
    return fetch_reference(name, cache_dir)


def read_folder(folder: Path) -> tuple[Manifest, GateStatus]:
    """The folder's manifest and its current gate status; ValueError or FileNotFoundError for a bad folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    try:
        manifest = manifest_mod.read(folder)
    except manifest_mod.ManifestError as exc:
        raise manifest_mod.ManifestError(
            f"{exc}: build the folder with `magicoder-export build`, or adopt one made elsewhere with "
            "`magicoder-export describe`"
        ) from exc
    previous = read_status(folder, manifest)
    if previous.status == UNREADABLE:
        raise ValueError(f"cannot read {previous.path} ({previous.detail}); remove it to check the folder afresh")
    return manifest, previous


def warn_if_not_on_gpu(manifest: Manifest) -> None:
    if manifest.target == "cuda" and not cuda_usable():
        log.warning(
            "[validate] the folder targets cuda, but CUDA is not usable here: checking it on the CPU (slow, and "
            "onnxruntime's CPU kernels hold fp32 copies of fp16 weights)"
        )


def announce(folder: Path, previous: GateStatus, report: ParityReport) -> None:
    """Say how the check ended; raise ParityError when it failed (the folder is kept either way)."""
    if report.passed:
        log.info("[validate] %s passed the %s check (was: %s)", folder, report.kind, previous.status)
        return
    if previous.passed:
        log.error(
            "[validate] REGRESSION: %s had passed its %s check and now FAILS the %s check. The folder is kept; "
            'its %s now says "failed" and the server warns whenever it loads it.',
            folder,
            previous.kind,
            report.kind,
            previous.report,
        )
    raise ParityError(
        f"{folder} failed the {report.kind} check (report: {previous.path}):\n  " + "\n  ".join(report.failures)
    )


def validate_folder(
    folder: Path,
    reference: str | None = None,
    *,
    parity_tokens: int = 64,
    fidelity_tokens: int = 512,
    trust_remote_code: bool = False,
    cache_dir: Path | None = None,
) -> ParityReport:
    """Run the gate on a finished model folder and rewrite its parity report; ParityError when it fails."""
    folder = Path(folder).expanduser().resolve()
    track_phases()
    manifest, previous = read_folder(folder)
    if parity_tokens < 1:
        raise ValueError("--parity-tokens must be positive")
    hf_dir = reference_dir(folder, manifest, reference, cache_dir)
    warn_if_not_on_gpu(manifest)
    if hf_dir is None:
        report = consistency(folder, manifest)
    else:
        report = validate(
            hf_dir,
            folder,
            manifest,
            new_tokens=parity_tokens,
            fidelity_tokens=fidelity_tokens,
            trust_remote_code=trust_remote_code,
        )
    report.write(previous.path)
    log.info("[validate] %s on %s: %s (%.1fs)", report.kind, report.device, report.summary(), report.seconds)
    announce(folder, previous, report)
    return report
