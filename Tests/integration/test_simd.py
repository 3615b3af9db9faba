"""One binary, two kernel widths: the fused statevector kernels are compiled for AVX2 (256-bit
vectors) and for AVX-512 (512-bit) and picked at run time from the CPU (QFORGE_SIMD=256|512
forces one). The AVX-512 code must be reachable only through the 512-bit kernels, or the
binary would stop with an illegal instruction on an AVX2 node; both widths give the same bits.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import QFORGE_BIN, assert_input_error, assert_ok, clean_env, reference_state, run_qforge, simulate
from qasmgen import random_qasm

#: Instructions and operands only AVX-512 has: zmm and mask registers, xmm/ymm 16-31, embedded
#: broadcasts, and EVEX-only mnemonics (AVX512F/VL/BW/DQ/CD).
AVX512_ONLY = re.compile(
    r"%zmm|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|%k[0-7]\b|\{1to|\bk(mov|or|and|xor|not|shift|test|add)[bwdq]?\b"
    r"|vperm[it]2|vpternlog|vcompress|vexpand|vpmov[a-z]*2m|vpmovm2|vrndscale|vscalef|vrcp14|vrsqrt14"
    r"|vpro[lr]v?[dq]|vpsra[v]?q|vpabsq|vp(max|min)[su]q|vfixupimm|vgetexp|vgetmant|vreduce|vrange|valign[dq]"
    r"|vpmov(q[bwd]|d[bw]|wb|us|s[dqwb])|v(extract|insert)[fi](32x[48]|64x[24])|vbroadcast[fi](32x[248]|64x[24])"
    r"|vpconflict|vplzcnt|vcvt[a-z0-9]*2u[dq]|vcvtu[dq]2")

#: Specialisations on the 512-bit vector types, as `swift demangle` writes them.
WIDE_VECTOR = re.compile(r"SIMD16<Swift\.Float>|SIMD8<Swift\.Double>")


def avx512_functions(binary: Path) -> dict[str, int]:
    """Symbol -> number of AVX-512-only instructions, for every function that has any."""
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)], capture_output=True,
                             text=True, check=True).stdout
    counts: dict[str, int] = {}
    function = None
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
        elif function and AVX512_ONLY.search(line):
            counts[function] = counts.get(function, 0) + 1
    return counts


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) not installed")
def test_avx512_code_is_only_in_the_512_bit_kernels():
    functions = avx512_functions(QFORGE_BIN)
    # BoringSSL (swift-crypto, swift-nio-ssl) ships AES-GCM assembly that checks the CPU itself.
    ours = [name for name in functions if "BoringSSL" not in name]
    demangled = subprocess.run(["swift", "demangle"], input="\n".join(ours), capture_output=True,
                               text=True, check=True).stdout.splitlines()
    stray = [d for d in demangled if not WIDE_VECTOR.search(d)]
    assert not stray, "AVX-512 instructions outside the 512-bit kernels (would trap on AVX2 nodes):\n" + "\n".join(stray[:20])
    version = assert_ok(run_qforge(["--version"])).stdout
    if "512-bit (AVX-512)" in version:  # the 512-bit kernels are built: they must use 512-bit vectors
        assert len(ours) >= 10, f"only {len(ours)} functions use AVX-512: the 512-bit kernels were not specialised"


def supported_widths() -> list[int]:
    line = next(l for l in assert_ok(run_qforge(["--version"])).stdout.splitlines() if l.startswith("SIMD:"))
    return [int(bits) for bits in re.findall(r"(\d+)-bit", line)]


@pytest.mark.parametrize("precision", ["double", "single"])
def test_both_widths_give_the_same_bits(tmp_path, precision):
    widths = supported_widths()
    if len(widths) < 2:
        pytest.skip(f"this CPU runs only the {widths[0]}-bit kernels")
    qasm = random_qasm(10, seed=11)
    states = []
    for bits in widths:
        result = simulate(tmp_path / str(bits), qasm, extra=["--precision", precision, "--threads", "2"],
                          env=clean_env(QFORGE_SIMD=str(bits)))
        states.append(result.state)
    assert np.array_equal(states[0], states[1]), f"{widths[0]}- and {widths[1]}-bit kernels differ"
    tolerance = 1e-10 if precision == "double" else 1e-5
    assert np.abs(states[0] - reference_state(qasm)).max() < tolerance


def test_width_is_reported_and_checked(tmp_path):
    qasm = tmp_path / "bell.qasm"
    qasm.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n')
    out = tmp_path / "bell.h5"
    proc = assert_ok(run_qforge(["sv", qasm, "-o", out], env=clean_env(QFORGE_SIMD="256")))
    assert "AVX2 kernels" in proc.stdout
    bad = run_qforge(["sv", qasm, "-o", out.with_name("bad.h5")], env=clean_env(QFORGE_SIMD="384"))
    assert "QFORGE_SIMD=384: expected 256 or 512" in assert_input_error(bad, out.with_name("bad.h5"))
    if 512 not in supported_widths():
        missing = run_qforge(["sv", qasm, "-o", out.with_name("no512.h5")], env=clean_env(QFORGE_SIMD="512"))
        assert "QFORGE_SIMD=512" in assert_input_error(missing, out.with_name("no512.h5"))
