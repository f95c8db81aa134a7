"""dbt-duckdb plugin: the pseudonymous subject key.

subject_id = HMAC-SHA256(key, "<center_id>:<mrn>") as lowercase hex. center_id is [a-z0-9_]+, so the
colon cannot be forged by either part. The key comes from $BLINA_PSEUDONYM_KEY and is read here, in
Python, so it never lands in compiled SQL, the manifest or the logs. There is no fallback: the orchestration
decides which key a run uses (orchestration/pseudonym_key.py) and passes it; a pseudonym asked for without
one is an error, never a hash under a guessable key.
"""

import hashlib
import hmac
import os

from dbt.adapters.duckdb.plugins import BasePlugin

KEY_ENV_VAR = "BLINA_PSEUDONYM_KEY"


def pseudonym_key() -> bytes:
    key = os.environ.get(KEY_ENV_VAR)
    if not key:
        raise RuntimeError(f"{KEY_ENV_VAR} is not set: no subject_id is computed without the pseudonym key "
                           "(docs/privacy.md)")
    return key.encode("utf-8")


def pseudonym(key: bytes, center_id: str, mrn: str) -> str:
    """The subject key of one patient; mrn is trimmed, as staging trims it for joins."""
    message = f"{center_id}:{mrn.strip()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        # Read when a pseudonym is first computed, not on connecting: `dbt docs` and tests connect without one.
        keys: list[bytes] = []

        def subject_id(center_id: str, mrn: str) -> str:
            if not keys:
                keys.append(pseudonym_key())
            return pseudonym(keys[0], center_id, mrn)

        conn.create_function(
            "pseudonym",
            subject_id,
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            side_effects=False,  # deterministic: DuckDB may cache and reorder calls
        )
