"""schemathesis against a live server, with an admin's and an agent's token, over whatever the
served OpenAPI document lists (so endpoints added later are fuzzed too): every check but the four
that need data a random request cannot have (see CHECKS), all phases (examples, coverage,
fuzzing, stateful). Prints one line per token with the cases generated and the failures found by
kind (server errors, schema violations ...), and exits 1 when any token found one.

    python bench/fuzz_api.py                    # the long run: 15 minutes per token, SQLite
    python bench/fuzz_api.py --seconds 40 --examples 50   # what .ci/run runs (about 2 minutes in all)
    python bench/fuzz_api.py --db postgres --seconds 300

The server is the real app (inbox.web.testing.LiveServer) on a fresh database seeded through the
ingest pipeline with the tests' keyword classifier: 60 customer-care items, HR, marketing and PR
items, the seeded users. A failing run keeps its schemathesis output in the folder it names."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inbox.web.testing import LiveServer, api_token, sample_mentions, seed_users  # noqa: E402

TOKENS = ("root", "carla")  # an admin, an agent of customer care
# ignored_auth: /health and /openapi.json are public on purpose; the other three need data that a
# random request only has by chance (an id that is someone else's item, or none at all)
EXCLUDED_CHECKS = "ignored_auth,positive_data_acceptance,use_after_free,ensure_resource_availability"
EXCLUDED_PATHS = ("/api/v1/ingest/{connector}",)  # signed webhooks: fuzzed bodies never pass the HMAC
CONFIG = ROOT / "bench" / "schemathesis.toml"  # 413 counts as rejecting an invalid body


def _schemathesis() -> str:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if exe is None:
        sys.exit("schemathesis is not installed (pip install -e '.[test]')")
    return exe


def _summary(out: str) -> tuple[int, dict[str, int]]:
    """(cases generated, {failure kind: count}) from schemathesis' summary."""
    m = re.search(r"(\d+) generated", out)
    kinds = {k.strip(): int(n) for k, n in re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", out)}
    kinds.update({f"schemathesis {k.strip()}": int(n) for k, n in re.findall(r"🚫 ([A-Za-z ]+Error): (\d+)", out)})
    return (int(m.group(1)) if m else 0), kinds


def fuzz(url: str, token: str, seconds: int, examples: int, seed: int, workdir: Path) -> tuple[int, dict[str, int],
                                                                                                int, str]:
    cmd = [_schemathesis(), "--config-file", str(CONFIG), "run", url + "/api/v1/openapi.json", "--checks", "all",
           "--exclude-checks", EXCLUDED_CHECKS, *[a for p in EXCLUDED_PATHS for a in ("--exclude-path", p)],
           "-H", f"Authorization: Bearer {token}", "--max-examples", str(examples), "--workers", "1",
           "--max-time", str(seconds), "--seed", str(seed), "--phases", "examples,coverage,fuzzing,stateful",
           "--no-color"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 3 + 120, env=env, cwd=workdir)
    out = r.stdout + r.stderr
    generated, kinds = _summary(out)
    return generated, kinds, r.returncode, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=900, help="schemathesis --max-time per token")
    ap.add_argument("--examples", type=int, default=200, help="--max-examples per operation and phase")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from tests.conftest import KeywordClassifier, backend_url, make_settings
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-api-"))

    async def seed(svc: Any) -> dict[str, str]:
        users = await seed_users(svc)
        await svc.pipeline.ingest(sample_mentions(n_care=60))
        return {name: await api_token(svc, u.id) for name, u in users.items()}

    failed = False
    with backend_url(args.db, tmp) as db_url:
        server = LiveServer(make_settings(db_url, tmp), classifier=KeywordClassifier(), seed=seed).start()
        try:
            for user in TOKENS:
                generated, kinds, code, out = fuzz(server.url, server.seeded[user], args.seconds, args.examples,
                                                   args.seed, tmp)
                (tmp / f"schemathesis-{user}.txt").write_text(out, encoding="utf-8")
                ok = code == 0 and not kinds
                failed |= not ok
                found = ", ".join(f"{k}: {n}" for k, n in kinds.items()) or "none"
                print(f"fuzz_api {args.db} {user}: {generated} cases, failures: {found}"
                      + ("" if ok else f" (exit {code}; output in {tmp})"), flush=True)
                if not ok:
                    print(out[-4000:], file=sys.stderr)
        finally:
            server.stop()
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
