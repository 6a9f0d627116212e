"""Write the API's OpenAPI schema to ``web/src/lib/api/openapi.json`` without running a server.

``just gen-api`` (``npm run gen:api`` in ``web/``) runs this, then ``openapi-typescript`` turns
the file into ``schema.d.ts``. The app is built exactly as the server builds it
(:func:`lifeboat.api.app.create_app`) but never started: building it opens no database and no
NATS connection (those happen in its lifespan). The JSON is written with sorted keys and a
trailing newline, so the same API always gives the same bytes; ``tests/unit/
test_generated_client.py`` fails when the committed file differs.

``python -m scripts.openapi --check`` exits 1 when the file is stale instead of writing it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_JSON = ROOT / "web" / "src" / "lib" / "api" / "openapi.json"

# Placeholder keys: 32+ characters, never used to encrypt anything (the app is not started).
_DUMMY_KEY = "openapi-schema-generation-only-not-a-real-key"


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document the API serves at ``/schema/openapi.json``."""
    from lifeboat.api.app import create_app
    from lifeboat.api.settings import Settings

    with tempfile.TemporaryDirectory(prefix="lifeboat-openapi-") as tmp:
        data = Path(tmp)
        settings = Settings(
            data_dir=data,
            database_path=data / "app.db",
            backup_storage_path=data / "backups",
            nats_url="nats://127.0.0.1:4222",
            encryption_key=_DUMMY_KEY,
            executor_seal_key=_DUMMY_KEY,
            # No built UI: the SPA routes are not in the schema anyway, but do not depend on them.
            static_dir=data / "no-static",
        )
        app = create_app(settings)
        return app.openapi_schema.to_schema()


def render(schema: dict[str, Any]) -> str:
    """The deterministic text of `schema` (sorted keys, 2-space indent, final newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the schema file."""
    parser = argparse.ArgumentParser(
        description="Write (or check) the OpenAPI schema the web client is generated from."
    )
    parser.add_argument("--output", type=Path, default=SCHEMA_JSON)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    output: Path = args.output
    text = render(openapi_schema())
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if args.check:
        if current != text:
            print(f"{output} is stale: run `just gen-api`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
