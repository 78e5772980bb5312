"""Helpers shared by the rerun generators (make_reruns.py here, and
GPTSoVITSTests/ProE2EReruns/make_e2e_reruns.py): reading the fixture SoVITS files' pickled
utils.HParams config, the fixture-file hash the tests match records by, and parity figures."""
import sys
import types


class HParams:
    """A plain attribute bag standing in for the official utils.HParams when unpickling."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def install_hparams_stub():
    module = types.ModuleType("utils")
    module.HParams = HParams
    sys.modules["utils"] = module


def fnv1a64(path):
    """FNV-1a 64 of a file's bytes as 16 hex digits (GSVTestSupport ParityGate.fileHash)."""
    h = 0xCBF29CE484222325
    with open(path, "rb") as f:
        data = f.read()
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def figures(ours, ref):
    a, b = ours.double().flatten(), ref.double().flatten()
    return {"max_abs": float((a - b).abs().max()), "rel_to_max": float((a - b).abs().max() / b.abs().max()),
            "one_minus_cos": float(1 - (a @ b) / (a.norm() * b.norm()))}
