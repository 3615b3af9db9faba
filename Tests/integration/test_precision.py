"""`--precision single`: float32 arithmetic, written widened to the same complex128 layout."""

import numpy as np
import pytest

from conftest import RANKS, fidelity, reference_state, simulate
from qasmgen import random_qasm

QASM = random_qasm(10, 401, user_gates=False)


@pytest.mark.parametrize("ranks", RANKS[:2])
def test_single_precision(tmp_path, ranks):
    r = simulate(tmp_path, QASM, ranks=ranks, extra=["--precision", "single"], name="single")
    ref = reference_state(QASM)
    assert r.state_attrs["precision"] == "single"
    assert r.state.dtype == np.complex128
    err = np.abs(r.state - ref).max()
    assert err < 1e-5, f"max |amp - ref| = {err:.3e}"
    assert err > 0, "bit-identical to double precision: is --precision single ignored?"
    assert fidelity(r.state, ref) > 1 - 1e-6


def test_double_is_default(tmp_path):
    r = simulate(tmp_path, QASM, name="double")
    assert r.state_attrs["precision"] == "double"
