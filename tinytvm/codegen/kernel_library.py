"""Where the src_cpp kernel library is, and which of its files a set of kernels needs."""

from __future__ import annotations

from pathlib import Path

from ..errors import TinyTVMError

SRC_CPP = Path(__file__).resolve().parents[2] / "src_cpp"

#: Kernel family -> its source files (relative to src_cpp/kernels), including shared helpers.
FAMILY_SOURCES: dict[str, tuple[str, ...]] = {
    "conv2d": ("conv2d.c", "conv2d_im2col.c", "conv2d_pointwise.c", "gemm_s16.c", "requant.c"),
    "depthwise_conv2d": ("depthwise_conv2d.c", "requant.c"),
    "fully_connected": ("fully_connected.c", "gemm_s16.c", "requant.c"),
    "elementwise": ("elementwise.c",),
    "pooling": ("pooling.c",),
    "mean": ("mean.c",),
    "softmax": ("softmax.c",),
    "logistic": ("logistic.c",),
    "resize_nearest": ("resize_nearest.c",),
    "quantize": ("quantize.c",),
    "transpose": ("transpose.c",),
    "pad": ("pad.c",),
    "concat": ("concat.c",),
    "copy_window": ("copy_window.c",),
}


def library_root() -> Path:
    if not (SRC_CPP / "include" / "tinytvm").is_dir():
        raise TinyTVMError(f"the tinytvm kernel library was not found at {SRC_CPP}; tinytvm must run from a "
                           "source checkout (pip install -e .)")
    return SRC_CPP


def sources_for(families) -> list[Path]:
    """Kernel sources needed by ``families`` (deduplicated, sorted for reproducible builds)."""
    root = library_root() / "kernels"
    names = set()
    for family in families:
        if family not in FAMILY_SOURCES:
            raise TinyTVMError(f"no kernel sources registered for '{family}'")
        names.update(FAMILY_SOURCES[family])
    return [root / name for name in sorted(names)]


def private_headers() -> list[Path]:
    return sorted((library_root() / "kernels").glob("*.h"))


def public_headers() -> list[Path]:
    return sorted((library_root() / "include" / "tinytvm").glob("*.h"))


def platform_dir() -> Path:
    return library_root() / "platform"
