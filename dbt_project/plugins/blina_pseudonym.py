"""dbt-duckdb plugin: the pseudonymous subject key.

subject_id = HMAC-SHA256(key, "<center_id>:<mrn>") as lowercase hex. center_id is [a-z0-9_]+, so the
colon cannot be forged by either part. The key comes from $BLINA_PSEUDONYM_KEY and is read here, in
Python, so it never lands in compiled SQL, the manifest or the logs. Without it, a public development
key is used and a warning is logged: fine for the synthetic demo, never for real patients.
"""

import hashlib
import hmac
import logging
import os
from functools import cache

from dbt.adapters.duckdb.plugins import BasePlugin

KEY_ENV_VAR = "BLINA_PSEUDONYM_KEY"
DEVELOPMENT_KEY = "blina-warehouse-development-key"

log = logging.getLogger(__name__)


def pseudonym_key() -> bytes:
    key = os.environ.get(KEY_ENV_VAR)
    if not key:
        _warn_development_key()
        key = DEVELOPMENT_KEY
    return key.encode("utf-8")


@cache
def _warn_development_key() -> None:
    # Once per process: dbt runs inside the Dagster process, one connection per layer.
    log.warning("%s is not set: using the public development key (demo data only)", KEY_ENV_VAR)


def pseudonym(key: bytes, center_id: str, mrn: str) -> str:
    """The subject key of one patient; mrn is trimmed, as staging trims it for joins."""
    message = f"{center_id}:{mrn.strip()}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        key = pseudonym_key()
        conn.create_function(
            "pseudonym",
            lambda center_id, mrn: pseudonym(key, center_id, mrn),
            ["VARCHAR", "VARCHAR"],
            "VARCHAR",
            side_effects=False,  # deterministic: DuckDB may cache and reorder calls
        )
