"""ae.compression: every codec's bitstream, its rate, its failure on damaged bytes, and the exercises."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import autoencoders as ae
from autoencoders import compression as comp
from autoencoders.exercises import WrongAnswer
from exercise_answers.compression import WRONG_ANSWERS

NOTEBOOK = Path(__file__).resolve().parents[1] / "chapters" / "03_compression.ipynb"
RNG = np.random.default_rng(0)
PHOTO = comp.photograph("astronaut")[100:164, 200:296]          # 64 x 96 RGB crop, held out
GREY = comp.photograph("camera")[200:228, 100:128, 0].copy()     # 28 x 28 grey


def _pca_rgb():
    return comp.PCACodec(block=8, k=24, step=20, radius=255).fit([comp.photograph("chelsea")[:128, :128]])


def _pca_grey():
    digits, _ = ae.data.load_mnist("train")
    return comp.PCACodec(block=28, k=16, step=16, radius=255).fit(digits[:500])


def _dense():
    torch.manual_seed(0)
    return comp.LearnedCodec(comp.DenseCompressionModel(side=28, k=8, hidden=32))


CODECS = {
    "jpeg-rgb": (lambda: comp.PillowCodec("JPEG", 30), PHOTO),
    "jpeg-grey": (lambda: comp.PillowCodec("JPEG", 30), GREY),
    "j2k-rgb": (lambda: comp.PillowCodec("JPEG2000", 28), PHOTO),
    "j2k-grey": (lambda: comp.PillowCodec("JPEG2000", 28), GREY),
    "webp-rgb": (lambda: comp.PillowCodec("WEBP", 30), PHOTO),
    "webp-grey": (lambda: comp.PillowCodec("WEBP", 30, mode="L"), GREY),
    "png-rgb": (lambda: comp.PillowCodec("PNG"), PHOTO),
    "pca-rgb": (_pca_rgb, PHOTO),
    "pca-grey": (_pca_grey, GREY),
    "learned-untrained": (comp.LearnedCodec, PHOTO),
    "learned-dense": (_dense, GREY),
    "learned-pretrained": (lambda: comp.LearnedCodec(comp.load_codec_model("mse_mid")), PHOTO),
}


@pytest.fixture(scope="module", params=sorted(CODECS))
def case(request):
    make, image = CODECS[request.param]
    codec = make()
    return request.param, codec, image, codec.encode(image)


def test_round_trip_keeps_shape_and_dtype(case):
    _, codec, image, data = case
    assert isinstance(data, bytes) and len(data) > 0
    decoded = codec.decode(data)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8


def test_encoding_and_decoding_are_deterministic(case):
    _, codec, image, data = case
    assert codec.encode(image) == data
    assert np.array_equal(codec.decode(data), codec.decode(data))


def test_rate_is_computed_from_bytes(case):
    _, codec, image, data = case
    got, bpp = comp.rate(codec, image)
    assert got == data and bpp == 8 * len(data) / (image.shape[0] * image.shape[1])


def test_truncated_bytes_raise_value_error(case):
    _, codec, _, data = case
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(ValueError):
            codec.decode(data[:cut])


def test_foreign_bytes_raise_value_error(case):
    _, codec, _, _ = case
    for junk in (b"not an image at all", bytes(RNG.integers(0, 256, 300, dtype=np.uint8))):
        with pytest.raises(ValueError):
            codec.decode(junk)


@pytest.mark.parametrize("name", ["pca-rgb", "pca-grey", "learned-untrained", "learned-dense", "learned-pretrained"])
def test_any_altered_byte_is_detected_by_checksummed_formats(name):
    make, image = CODECS[name]
    codec = make()
    data = bytearray(codec.encode(image))
    for position in (len(data) - 1, len(data) // 2, 12, 2, 5):  # payload and header fields
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        with pytest.raises(ValueError):
            codec.decode(bytes(damaged))


@pytest.mark.parametrize("kind,codec", [("learned", comp.LearnedCodec()), ("pca", _pca_grey())])
def test_huge_or_nonsense_header_sizes_are_refused_quickly(kind, codec):
    payload = b"\x00" * 8
    for h, w, c in ((65535, 65535, 3), (0, 10, 3), (10, 10, 7)):
        fields = struct.pack(">BHHB", comp._MAGIC[kind], h, w, c)
        header = fields + struct.pack(">I", zlib.crc32(fields + payload))
        with pytest.raises(ValueError, match="header"):
            codec.decode(header + payload)


def test_png_is_lossless():
    codec = comp.PillowCodec("PNG")
    assert np.array_equal(codec.decode(codec.encode(PHOTO)), PHOTO)


def test_learned_codec_decodes_exactly_its_reported_reconstruction():
    codec = comp.LearnedCodec(comp.load_codec_model("mse_mid"))
    image = comp.photograph("flower")[:96, :160]
    assert np.array_equal(codec.decode(codec.encode(image)), codec.reconstruct(image))


def test_estimated_and_actual_bits_agree():
    codec = comp.LearnedCodec(comp.load_codec_model("mse_mid"))
    image = comp.photograph("china")[:192, :256]
    payload = len(codec.encode(image)) - 10
    estimated = codec.estimated_bits(image) / 8
    assert estimated > 100
    assert abs(payload - estimated) <= 0.01 * estimated + 8, (payload, estimated)


def test_pretrained_codec_compresses_and_reconstructs_a_held_out_photo():
    codec = comp.LearnedCodec(comp.load_codec_model("mse_mid"))
    image = comp.photograph("astronaut")[:256, :256]
    metrics = comp.measure(codec, [image])
    assert metrics["bpp"] < 0.6 and metrics["psnr"] > 20 and metrics["ms_ssim"] > 0.85, metrics


def test_header_bytes_measures_the_container():
    jpeg = comp.PillowCodec("JPEG", 50)
    blank = comp.header_bytes(jpeg, (28, 28))
    assert 100 < blank < len(jpeg.encode(GREY))
    assert comp.header_bytes(comp.LearnedCodec(), (64, 64, 3)) >= 10


def test_match_rate_stays_at_or_below_the_target():
    codec, bpp = comp.match_rate(lambda q: comp.PillowCodec("WEBP", q), PHOTO, 1.0, 0, 100, steps=6)
    assert bpp <= 1.0 and comp.rate(codec, PHOTO)[1] == bpp


def test_at_rate_interpolates_and_never_extrapolates():
    assert comp.at_rate([0.1, 0.4], [20.0, 30.0], 0.2) == pytest.approx(25.0)
    assert np.isnan(comp.at_rate([0.1, 0.4], [20.0, 30.0], 0.5))


def test_training_lowers_the_rate_distortion_loss():
    torch.manual_seed(0)
    model = comp.DenseCompressionModel(side=28, k=8, hidden=64)
    x, _ = ae.data.mnist_tensors("train")
    history = ae.training.fit(model, x[:512], loss_fn=lambda m, b: comp.rd_loss(m, b, 0.01)[0], epochs=4,
                              batch_size=64, lr=2e-3, progress=False, device=torch.device("cpu"))
    assert history["train"][-1] < 0.7 * history["train"][0]


def test_density_pmfs_are_distributions():
    pmfs = comp.FactorizedDensity(5).pmfs(10)
    assert pmfs.shape == (5, 21) and np.all(pmfs >= 0)
    np.testing.assert_allclose(pmfs.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((8, 8), dtype=np.float32), "uint8"),
    (np.zeros((8, 8, 4), dtype=np.uint8), "shape"),
    (np.zeros((0, 8), dtype=np.uint8), "no pixels"),
])
def test_bad_images_are_refused(bad, match):
    for codec in (comp.PillowCodec("JPEG"), comp.LearnedCodec()):
        with pytest.raises(ValueError, match=match):
            codec.encode(bad)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="format"):
        comp.PillowCodec("GIF")
    with pytest.raises(ValueError, match="quality"):
        comp.PillowCodec("JPEG", 120)
    with pytest.raises(ValueError, match="not fitted"):
        comp.PCACodec().encode(GREY)
    with pytest.raises(ValueError, match="channel"):
        comp.LearnedCodec().encode(GREY)
    with pytest.raises(ValueError, match="held-out"):
        comp.CropSampler(names=("chelsea", "china"))
    with pytest.raises(ValueError, match="unknown photograph"):
        comp.photograph("lena")
    with pytest.raises(ValueError, match="distortion"):
        comp.rd_loss(comp.DenseCompressionModel(), torch.zeros(1, 1, 28, 28), 0.01, "l1")


def test_every_codec_constructs_with_defaults():
    for codec in (comp.PillowCodec(), comp.PCACodec(), comp.LearnedCodec()):
        assert hasattr(codec, "encode") and hasattr(codec, "decode")


# ---- exercises: the notebook's reference solutions pass, plausible wrong answers are rejected ----

SOLUTION_NAMES = {"comp-bpp": "bits_per_pixel", "comp-quantise": "quantise", "comp-entropy": "code_bits"}


def _reference_solutions():
    namespace = {"np": np, "torch": torch, "nn": nn, "F": F, "ae": ae}
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "# BEGIN SOLUTION" in source:
            exec(source, namespace)  # noqa: S102 - our own notebook's solution cell, run alone
    return {ex: namespace[fn] for ex, fn in SOLUTION_NAMES.items()}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTION_NAMES))
def test_reference_solution_passes(exercise_id, capsys):
    assert ae.exercises.check(exercise_id, _reference_solutions()[exercise_id]) == True  # noqa: E712 - an Outcome
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("exercise_id,why,answer", [(ex, why, fn) for ex, answers in WRONG_ANSWERS.items() for why, fn in answers])
def test_wrong_answers_are_rejected(exercise_id, why, answer):
    with pytest.raises(WrongAnswer) as info:
        ae.exercises.check(exercise_id, answer)
    assert exercise_id in str(info.value) and len(str(info.value)) > 40, why


def test_stub_counts_as_not_attempted(capsys):
    def stub(*args):
        raise NotImplementedError("Exercise comp-bpp")

    assert ae.exercises.check("comp-bpp", stub) == False  # noqa: E712 - an Outcome
    assert "not attempted" in capsys.readouterr().out


def test_every_exercise_has_wrong_answers():
    ids = {e.id for e in ae.exercises.catalog() if e.chapter == "03_compression"}
    assert ids == set(SOLUTION_NAMES) and all(len(WRONG_ANSWERS[i]) >= 2 for i in ids)
