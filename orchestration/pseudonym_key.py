"""Which key the subject_id pseudonyms are computed with (docs/privacy.md).

`$BLINA_PSEUDONYM_KEY`, always, for real deliveries. The public development key (it is in this file, so
anyone can recompute a subject_id from an mrn, and a small mrn space is brute-forced in seconds) serves only
the bundled synthetic demo: when the drop zone is the repository's own `data/landing/` holding exactly the
committed files (their digests in `data/landing.sha256`), or when the user opts in with
`BLINA_PSEUDONYM_KEY=demo`. Anything else without a key is refused before a run writes anything.

The dbt plugin (dbt_project/plugins/blina_pseudonym.py) has no fallback: it reads the key this module
chooses, which the dbt resource passes in the variable, and never sees `demo`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from orchestration import settings

KEY_VARIABLE = "BLINA_PSEUDONYM_KEY"
DEMO = "demo"  # the explicit opt-in to the public key, for synthetic data
DEVELOPMENT_KEY = "blina-warehouse-development-key"
BUNDLED_LANDING = settings.PROJECT_ROOT / "data" / "landing"
MANIFEST = settings.PROJECT_ROOT / "data" / "landing.sha256"
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class KeyMissing(RuntimeError):
    """No key for a delivery that is not the bundled demo."""


def key(landing_dir: Path | None = None) -> str:
    """The key for a run over the drop zone `landing_dir` (default: BLINA_LANDING_DIR); raises KeyMissing."""
    value = os.environ.get(KEY_VARIABLE, "")
    if value and value != DEMO:
        return value
    landing = (landing_dir or settings.landing_dir()).resolve()
    if value == DEMO or is_bundled_demo(landing):
        return DEVELOPMENT_KEY
    raise KeyMissing(
        f"{KEY_VARIABLE} is not set, and {landing} is not the bundled demo delivery: refusing to pseudonymise "
        f"patients with the public development key. Make a key once ({MAKE_A_KEY}), keep it outside the "
        f"repository (a secrets store, or a file only the warehouse's account can read), and set "
        f"{KEY_VARIABLE}=<the key> for every run, the Dagster daemon's and webserver's included "
        f"(docs/privacy.md). For synthetic data only: {KEY_VARIABLE}={DEMO}.")


def fingerprint(secret: str) -> str:
    """16 hex digits that change with the key and reveal nothing of it (recorded in audit.pseudonym_keys)."""
    return hashlib.sha256(b"pseudonym-key\0" + secret.encode()).hexdigest()[:16]


def is_bundled_demo(landing_dir: Path) -> bool:
    """`landing_dir` is the repository's data/landing/ and holds exactly the committed demo files."""
    return (landing_dir.resolve() == BUNDLED_LANDING.resolve() and MANIFEST.exists()
            and manifest(landing_dir) == MANIFEST.read_text(encoding="utf-8"))


def manifest(landing_dir: Path) -> str:
    """`sha256sum` lines of every file under `landing_dir`; a link is listed, never followed (the demo has none)."""
    files = sorted(path for path in landing_dir.rglob("*") if path.is_file() or path.is_symlink())
    return "".join(f"{'link' if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()}  "
                   f"{path.relative_to(landing_dir).as_posix()}\n" for path in files)


def write_manifest() -> None:
    """Record the bundled demo files (`make demo-data` regenerates them, then this)."""
    MANIFEST.write_text(manifest(BUNDLED_LANDING), encoding="utf-8")


if __name__ == "__main__":
    write_manifest()
