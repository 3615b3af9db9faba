"""Shared helpers of the QForge analysis scripts (scripts/plot-*, scripts/gather-*).

Only h5py, numpy and matplotlib (Agg backend: no display on compute nodes)."""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

# H2 / STO-3G full-CI energies (hartree) by bond length (Å), from PySCF 2.14.0: the exact curve a VQE dissociation scan should follow.
H2_STO3G_FCI = {
    0.5: -1.055159794471,
    0.735: -1.137306035753,
    1.0: -1.101150330233,
    1.5: -0.998149353471,
    2.0: -0.948641112176,
    2.5: -0.936054919956,
}


def parser(description: str, example: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description, epilog=f"example:\n  {example}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def fail(message: str) -> None:
    """One line on stderr and exit 2, like qforge itself."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    sys.exit(2)


def open_result(path: str, kind: str | tuple[str, ...] | None = None) -> h5py.File:
    """Opens a QForge result file, checking its `job_kind` when `kind` is given."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(f"{path}: cannot open as HDF5 ({e})")
    if kind is not None:
        kinds = (kind,) if isinstance(kind, str) else kind
        found = text(f.attrs.get("job_kind", ""))
        if found not in kinds:
            fail(f"{path}: job_kind is '{found}', expected {' or '.join(kinds)}")
    return f


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def config(f: h5py.File) -> dict:
    """The job file (root attribute `config`) as a dict, or {} when it is not TOML."""
    try:
        return tomllib.loads(text(f.attrs.get("config", "")))
    except tomllib.TOMLDecodeError:
        return {}


def observable(f: h5py.File, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(time, value) of an H5MD observable."""
    g = f[f"observables/{name}"]
    return g["time"][()], g["value"][()]


def save(fig, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def radial_distribution(positions: np.ndarray, box: np.ndarray, r_max: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """g(r) of one or more frames ([frames][N][3], orthorhombic periodic box edges [3]) by
    minimum-image pair distances, normalised by the ideal-gas pair count in each shell."""
    frames = positions.reshape(-1, positions.shape[-2], 3)
    n = frames.shape[1]
    edges = np.linspace(0.0, r_max, bins + 1)
    hist = np.zeros(bins)
    iu = np.triu_indices(n, k=1)
    for x in frames:
        d = x[:, None, :] - x[None, :, :]
        d -= box * np.round(d / box)
        r = np.sqrt((d * d).sum(-1))[iu]
        hist += np.histogram(r, bins=edges)[0]
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    ideal = len(frames) * 0.5 * n * (n - 1) / np.prod(box) * shell
    return 0.5 * (edges[1:] + edges[:-1]), hist / ideal


def bond_length(f: h5py.File, required: bool = True) -> float | None:
    """The molecule's bond length in Å: attribute `bond_length` (root or /vqe), else the distance
    of the first two atoms in /molecule/{coordinates,positions,geometry}, else `bond_length` in
    the job file (top level or any table)."""
    for where in (f, f.get("vqe")):
        if where is not None and "bond_length" in where.attrs:
            return float(where.attrs["bond_length"])
    for name in ("coordinates", "positions", "geometry"):
        if f"molecule/{name}" in f:
            x = np.asarray(f[f"molecule/{name}"][()], dtype=float).reshape(-1, 3)
            if len(x) >= 2:
                return float(np.linalg.norm(x[1] - x[0]))
    job = config(f)
    for table in [job] + [v for v in job.values() if isinstance(v, dict)]:
        if "bond_length" in table:
            return float(table["bond_length"])
    if required:
        fail(f"{f.filename}: no bond length in the file (give --bond-lengths)")
    return None
