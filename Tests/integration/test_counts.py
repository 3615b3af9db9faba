"""Sampling: terminal measurements (same seed => same counts on any rank count, statistics
right, classical-bit mapping) and mid-circuit measure/reset/if trajectories (teleportation)."""

import math

import numpy as np
import pytest

from conftest import RANKS, basis_probabilities, fidelity, reference_state, simulate
from qasmgen import HEADER, teleport_qasm, teleported_state

SHOTS = 4000

# 5 qubits, two classical registers; measured qubits are permuted onto clbits:
# c[0] <- q[3], c[1] <- q[0], d[0] <- q[4], d[1] <- q[1], d[2] <- q[2]
# so outcome bit j (cregs concatenated, c first) is: 0:q3 1:q0 2:q4 3:q1 4:q2.
TERMINAL = HEADER + """\
qreg q[5];
creg c[2];
creg d[3];
ry(0.4) q[0];
ry(1.1) q[1];
h q[2];
cx q[2], q[3];
ry(2.3) q[4];
cry(0.9) q[4], q[0];
rz(0.3) q[3];
crx(1.7) q[1], q[4];
measure q[3] -> c[0];
measure q[0] -> c[1];
measure q[4] -> d[0];
measure q[1] -> d[1];
measure q[2] -> d[2];
"""
CLBIT_OF_QUBIT = {3: 0, 0: 1, 4: 2, 1: 3, 2: 4}


def exact_outcome_probabilities(qasm, clbit_of_qubit, n_clbits):
    p = basis_probabilities(reference_state(qasm))
    out = np.zeros(2 ** n_clbits)
    for index, prob in enumerate(p):
        outcome = 0
        for q, c in clbit_of_qubit.items():
            if (index >> q) & 1:
                outcome |= 1 << c
        out[outcome] += prob
    return out


def chi_square(counts, probs, shots):
    """Pearson chi-square over outcomes with expected count >= 5 (others pooled) and dof."""
    observed = np.zeros(len(probs))
    for o, c in counts.items():
        observed[o] = c
    expected = probs * shots
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    stat = float(((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum())
    return stat, int(keep.sum()) - 1


def check_counts_table(result, shots, seed):
    counts = result.counts
    assert counts is not None
    assert list(counts.dtype.names) == ["outcome", "count"]
    assert np.all(np.diff(counts["outcome"].astype(np.int64)) > 0), "outcomes not strictly sorted"
    assert int(counts["count"].sum()) == shots
    assert np.all(counts["count"] > 0)
    assert int(result.counts_attrs["shots"]) == shots
    assert int(result.counts_attrs["seed"]) == seed


@pytest.mark.parametrize("ranks", RANKS)
def test_terminal_counts_statistics(tmp_path, ranks):
    result = simulate(tmp_path, TERMINAL, ranks=ranks, extra=["--shots", SHOTS, "--seed", 11], name="terminal")
    check_counts_table(result, SHOTS, 11)
    counts = result.counts_dict()
    assert max(counts) < 2 ** 5
    probs = exact_outcome_probabilities(TERMINAL, CLBIT_OF_QUBIT, 5)
    assert all(probs[o] > 0 for o in counts), "an impossible outcome was sampled"
    stat, dof = chi_square(counts, probs, SHOTS)
    # mean dof, sd sqrt(2 dof): 5 sd above the mean fails only on a real bias.
    assert stat < dof + 5 * math.sqrt(2 * dof), f"chi2 {stat:.1f} with {dof} dof: counts {counts}"
    # The final (unmeasured) state is written, not a collapsed one.
    assert np.abs(result.state - reference_state(TERMINAL)).max() < 1e-12


@pytest.mark.mpi
def test_same_seed_same_counts_on_any_rank_count(tmp_path):
    tables = {}
    for ranks in (1, 2, 4):
        r = simulate(tmp_path, TERMINAL, ranks=ranks, extra=["--shots", SHOTS, "--seed", 11], name="terminal")
        tables[ranks] = r.counts
    for ranks in (2, 4):
        assert np.array_equal(tables[ranks], tables[1]), (
            f"counts differ between 1 and {ranks} ranks:\n{tables[1]}\n{tables[ranks]}")


def test_different_seeds_give_different_counts(tmp_path):
    a = simulate(tmp_path / "a", TERMINAL, extra=["--shots", SHOTS, "--seed", 11]).counts_dict()
    b = simulate(tmp_path / "b", TERMINAL, extra=["--shots", SHOTS, "--seed", 12]).counts_dict()
    again = simulate(tmp_path / "c", TERMINAL, extra=["--shots", SHOTS, "--seed", 11]).counts_dict()
    assert a != b
    assert a == again


def test_classical_bit_mapping_is_exact(tmp_path):
    """A basis state measured into permuted clbits of two cregs gives a single known outcome."""
    qasm = HEADER + """\
qreg q[4];
creg lo[2];
creg hi[3];
x q[1];
x q[3];
measure q[1] -> hi[2];
measure q[3] -> lo[0];
measure q[0] -> hi[0];
measure q[2] -> lo[1];
"""
    # lo = bits 0-1, hi = bits 2-4: lo[0]=1 (bit 0), hi[2]=1 (bit 4) -> 0b10001.
    r = simulate(tmp_path, qasm, extra=["--shots", 100, "--seed", 3])
    assert r.counts_dict() == {0b10001: 100}


def test_unmeasured_circuit_counts_are_basis_indices(tmp_path):
    qasm = HEADER + "qreg q[3];\nx q[0];\nh q[2];\n"
    r = simulate(tmp_path, qasm, extra=["--shots", 1000, "--seed", 5])
    counts = r.counts_dict()
    assert set(counts) == {0b001, 0b101}, counts
    assert sum(counts.values()) == 1000
    assert 400 < counts[0b001] < 600


def test_register_measure_and_partial_measure(tmp_path):
    """`measure q -> c` on a GHZ state: only all-zeros and all-ones; an unmeasured qubit is ignored."""
    qasm = HEADER + """\
qreg q[4];
creg c[3];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
measure q[0] -> c[0];
measure q[1] -> c[1];
measure q[2] -> c[2];
"""
    counts = simulate(tmp_path, qasm, extra=["--shots", 2000, "--seed", 9]).counts_dict()
    assert set(counts) == {0, 7}, counts
    assert 850 < counts[0] < 1150


# ---------------------------------------------------------------------------- mid-circuit

THETA, PHI = 1.2, 0.7
TELEPORT_SHOTS = 2000


@pytest.mark.parametrize("ranks", RANKS[:2])
def test_teleportation_statistics(tmp_path, ranks):
    qasm = teleport_qasm(THETA, PHI, measure_target=True)
    r = simulate(tmp_path, qasm, ranks=ranks, extra=["--shots", TELEPORT_SHOTS, "--seed", 21], name="teleport")
    check_counts_table(r, TELEPORT_SHOTS, 21)
    counts = r.counts_dict()
    shots = TELEPORT_SHOTS
    p1 = math.sin(THETA / 2) ** 2
    ones = sum(c for o, c in counts.items() if o & 0b100)
    sd = math.sqrt(shots * p1 * (1 - p1))
    assert abs(ones - shots * p1) < 5 * sd, f"P(out=1) {ones / shots:.3f}, expected {p1:.3f}: {counts}"
    # Both Bell-measurement bits are uniform and independent of the teleported bit.
    for bit in (0b001, 0b010):
        k = sum(c for o, c in counts.items() if o & bit)
        assert abs(k - shots / 2) < 5 * math.sqrt(shots / 4), counts
    for m in range(4):
        sub = {o: c for o, c in counts.items() if o & 0b11 == m}
        total = sum(sub.values())
        ones_m = sum(c for o, c in sub.items() if o & 0b100)
        assert total > 0
        assert abs(ones_m - total * p1) < 5 * math.sqrt(total * p1 * (1 - p1)), (m, counts)


@pytest.mark.mpi
def test_teleportation_same_seed_same_counts_1_vs_2_ranks(tmp_path):
    qasm = teleport_qasm(THETA, PHI, measure_target=True)
    one = simulate(tmp_path, qasm, ranks=1, extra=["--shots", 500, "--seed", 4], name="t")
    two = simulate(tmp_path, qasm, ranks=2, extra=["--shots", 500, "--seed", 4], name="t")
    assert np.array_equal(one.counts, two.counts), f"{one.counts}\n{two.counts}"
    other = simulate(tmp_path, qasm, ranks=1, extra=["--shots", 500, "--seed", 5], name="t5")
    assert not np.array_equal(one.counts, other.counts)


@pytest.mark.parametrize("ranks", RANKS[:2])
def test_teleported_state_is_written(tmp_path, ranks):
    """Without the final measure, the last trajectory's state is |m0 m1> (x) psi on q[2]."""
    qasm = teleport_qasm(THETA, PHI, measure_target=False)
    r = simulate(tmp_path, qasm, ranks=ranks, extra=["--shots", 7, "--seed", 2], name="teleport-state")
    state = r.state
    assert abs(np.vdot(state, state).real - 1) < 1e-12
    p = np.abs(state) ** 2
    low = [m for m in range(4) if p[m] + p[m + 4] > 1e-12]
    assert len(low) == 1, f"q[0], q[1] not collapsed: {state}"
    m = low[0]
    psi = np.array([state[m], state[m + 4]])
    assert fidelity(psi, teleported_state(THETA, PHI)) > 1 - 1e-12, (psi, teleported_state(THETA, PHI))


def test_reset_mid_circuit(tmp_path):
    qasm = HEADER + """\
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
reset q[0];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""
    counts = simulate(tmp_path, qasm, extra=["--shots", 400, "--seed", 8]).counts_dict()
    assert set(counts) <= {0b00, 0b10}, counts
    assert 140 < counts.get(0b10, 0) < 260, counts
