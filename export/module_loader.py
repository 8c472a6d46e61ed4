"""A transformers model skeleton on the meta device whose modules are read from the checkpoint on demand.

Both the streaming converter and the layer-by-layer parity reference use transformers' own model
classes without ever holding the whole model: the skeleton costs no memory, and ``loaded(module)``
gives one module real weights (read by ``checkpoint.Checkpoint``, checked against the skeleton's
shapes, cast to the dtype the model is loaded in) for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator
from pathlib import Path

import torch

from .checkpoint import Checkpoint, CheckpointError


def model_dtype(config, checkpoint: Checkpoint) -> torch.dtype:
    """The dtype ``from_pretrained(path)`` loads in (transformers 5: dtype="auto"): the config's, else the weights'."""
    dtype = getattr(config, "dtype", None)
    if dtype is None:
        dtype = checkpoint.floating_dtype() or torch.get_default_dtype()
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def trim_heap() -> None:
    """Give freed memory back to the system (glibc keeps freed arenas otherwise: a slow creep per module)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class ModuleLoader:
    def __init__(self, checkpoint: Checkpoint, skeleton: torch.nn.Module):
        self.checkpoint = checkpoint
        self.skeleton = skeleton
        self.dtype = next(skeleton.parameters()).dtype
        # A tied parameter (the LM head sharing the embedding) has several names and owners: it is read under
        # whichever name the checkpoint has, and given to every owner.
        self.keys: dict[int, list[str]] = {}
        for name, param in skeleton.named_parameters(remove_duplicate=False):
            self.keys.setdefault(id(param), []).append(name)
        self.owners: dict[int, dict[tuple[int, str], tuple[torch.nn.Module, str]]] = {}
        for module in skeleton.modules():
            for leaf, param in module.named_parameters(recurse=False):
                self.owners.setdefault(id(param), {})[(id(module), leaf)] = (module, leaf)

    @classmethod
    def open(cls, hf_dir: Path, dtype: torch.dtype | None = None) -> ModuleLoader:
        """``hf_dir``'s checkpoint behind a meta skeleton of its model, in ``dtype`` (default: as from_pretrained)."""
        from transformers import AutoConfig, AutoModelForCausalLM

        checkpoint = Checkpoint.open(Path(hf_dir))
        config = AutoConfig.from_pretrained(hf_dir)
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(config, dtype=dtype or model_dtype(config, checkpoint))
        return cls(checkpoint, skeleton.eval())

    def owner(self, param: torch.nn.Parameter) -> tuple[torch.nn.Module, str]:
        """A module holding ``param`` and its attribute name."""
        return next(iter(self.owners[id(param)].values()))

    def key(self, param: torch.nn.Parameter) -> str:
        """The checkpoint's name for ``param`` (the first of a tied parameter's names that the checkpoint has)."""
        names = self.keys[id(param)]
        return next((n for n in names if n in self.checkpoint), names[0])

    def read_tensor(self, key: str, like: torch.Tensor) -> torch.Tensor:
        """One checkpoint tensor, checked against the skeleton's shape, in the skeleton's dtype."""
        tensor = self.checkpoint.read(key)
        entry = self.checkpoint.entry(key)
        if tuple(tensor.shape) != tuple(like.shape):
            raise CheckpointError(
                f"{entry.file}: tensor {key} has shape {list(tensor.shape)}, but the model's config.json "
                f"needs {list(like.shape)}: the checkpoint and its config do not match"
            )
        if not tensor.dtype.is_floating_point:
            raise CheckpointError(f"{entry.file}: tensor {key} is {tensor.dtype}, not a floating-point weight")
        return tensor.to(like.dtype)

    @contextlib.contextmanager
    def loaded(self, module: torch.nn.Module) -> Iterator[torch.nn.Module]:
        """``module``'s parameters read from the checkpoint for the duration of the block (nested blocks: a no-op)."""
        swapped = []
        try:
            for param in list(module.parameters()):
                if param.device.type != "meta":
                    continue
                real = torch.nn.Parameter(self.read_tensor(self.key(param), param), requires_grad=False)
                for owner, leaf in self.owners[id(param)].values():
                    owner._parameters[leaf] = real
                    swapped.append((owner, leaf, param))
            yield module
        finally:
            for owner, leaf, param in swapped:
                owner._parameters[leaf] = param

    def close(self) -> None:
        self.checkpoint.close()
