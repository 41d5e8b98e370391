"""Which files a checkpoint folder may make the loader open: its own, nothing else.

A downloaded checkpoint is untrusted input. Its index, config or tokenizer must not lead the
loader to files the user never pointed it at (``/etc/...``, ``../other``, a symlink out of the
folder). The one layout where files legitimately live elsewhere is the Hugging Face hub cache,
``models--org--name/snapshots/<rev>/<file> -> ../../blobs/<hash>``: there the repository's
``blobs/`` folder counts as part of the checkpoint.
"""

from __future__ import annotations

from pathlib import Path


def allowed_roots(root: Path) -> list[Path]:
    """The resolved folders a checkpoint at ``root`` may read from."""
    roots = [root.resolve()]
    if root.parent.name == "snapshots" and (root.parent.parent / "blobs").is_dir():
        roots.append((root.parent.parent / "blobs").resolve())
    return roots


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether ``path``, every symlink resolved, lies in one of ``roots``."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return any(resolved.is_relative_to(allowed) for allowed in roots)
