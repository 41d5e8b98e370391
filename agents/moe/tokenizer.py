"""A tokenizer from a checkpoint directory's tokenizer.json (the `tokenizers` package, no hub)."""

from __future__ import annotations

from pathlib import Path

from rootspan.agents.moe.paths import allowed_roots, inside
from rootspan.errors import UserError


def load_tokenizer(path: str | Path):  # -> tokenizers.Tokenizer
    """`path` is a checkpoint directory or a tokenizer.json file."""
    from tokenizers import Tokenizer

    p = Path(path)
    file = p / "tokenizer.json" if p.is_dir() else p
    if not file.is_file():
        raise UserError(f"no tokenizer.json at {p}")
    if p.is_dir() and not inside(file, allowed_roots(p)):
        raise UserError(f"{file}: a symbolic link to outside the checkpoint folder; not read")
    try:
        return Tokenizer.from_file(str(file))
    except Exception as e:  # the tokenizers package raises its own untyped exception
        first_line = (str(e).splitlines() or [type(e).__name__])[0]
        raise UserError(f"{file} is not a valid tokenizer.json: {first_line}") from None
