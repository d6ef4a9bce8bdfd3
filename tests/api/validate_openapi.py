"""Fetches the admin API's OpenAPI document from a real `centralauth serve` (fresh SQLite
database in a temporary directory, port 0) and validates it with openapi-spec-validator,
an implementation of the OpenAPI 3.0/3.1 specifications independent of ours."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from openapi_spec_validator import validate


def main() -> int:
    binary = os.environ["CENTRALAUTH_BIN"]
    with tempfile.TemporaryDirectory() as tmp:
        # A fixed test key: no key file is left behind.
        env = dict(os.environ, CENTRALAUTH_LOG="warn", CENTRALAUTH_MASTER_KEY="dGVzdHMtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE")
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--database-url", f"sqlite://{tmp}/api.db"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            base = None
            for line in server.stdout:
                if line.startswith("listening on "):
                    base = line.removeprefix("listening on ").strip()
                    break
            if base is None:
                print("api: centralauth exited before listening", file=sys.stderr)
                return 1
            with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=10) as response:
                document = json.load(response)
        finally:
            server.terminate()
            server.wait(timeout=10)
    validate(document)
    operations = sum(1 for item in document["paths"].values() for method in item if method in {"get", "put", "post", "delete", "patch"})
    print(f"api: OpenAPI {document['openapi']} document valid: {len(document['paths'])} paths, {operations} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
