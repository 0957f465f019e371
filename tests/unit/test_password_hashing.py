"""Password hashes: argon2id with the library's recommended parameters unless a test suite asks for
the cheapest ones (``INBOX_TEST_PASSWORD_HASHING=cheapest``, which tests/conftest.py sets); a hash
made with those is replaced at the next sign-in under the normal parameters."""
from __future__ import annotations

import os
import subprocess
import sys

from argon2 import profiles

from inbox.domain import credentials


def test_the_normal_parameters_are_the_library_s_recommended_ones() -> None:
    normal = credentials.hasher_for(None)
    assert (normal.time_cost, normal.memory_cost, normal.parallelism) == (
        profiles.RFC_9106_LOW_MEMORY.time_cost, profiles.RFC_9106_LOW_MEMORY.memory_cost,
        profiles.RFC_9106_LOW_MEMORY.parallelism)
    assert credentials.hasher_for("anything else").memory_cost == normal.memory_cost


def test_a_cheap_hash_verifies_and_is_replaced_under_the_normal_parameters() -> None:
    cheap, normal = credentials.hasher_for("cheapest"), credentials.hasher_for(None)
    assert cheap.memory_cost == profiles.CHEAPEST.memory_cost < normal.memory_cost
    stored = cheap.hash("correct horse battery")
    assert normal.verify(stored, "correct horse battery")  # the parameters travel in the hash
    assert normal.check_needs_rehash(stored) and not cheap.check_needs_rehash(stored)
    assert not normal.check_needs_rehash(normal.hash("correct horse battery"))


def test_without_the_variable_the_service_hashes_with_the_normal_parameters() -> None:
    env = {k: v for k, v in os.environ.items() if k != credentials.TEST_HASHING_ENV}
    code = ("from inbox.domain import credentials as c; from argon2 import extract_parameters as e; "
            "print(e(c.hash_password('correct horse battery')).memory_cost)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == profiles.RFC_9106_LOW_MEMORY.memory_cost
