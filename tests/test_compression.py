"""ae.compression: every codec's bitstream, its rate, its failure on damaged bytes, the learned
model's parts, and the comparison of codecs at equal rate. (The exercises are tested by
tests/test_exercises.py.)"""

import dataclasses
import importlib.util
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import autoencoders as ae

comp = ae.compression
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
    "hyperprior-untrained": (comp.HyperpriorCodec, PHOTO),
    "learned-dense": (_dense, GREY),
    "learned-pretrained": (lambda: comp.load_codec("mse_2"), PHOTO),
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


@pytest.mark.parametrize(
    "name", ["pca-rgb", "pca-grey", "learned-untrained", "hyperprior-untrained", "learned-dense", "learned-pretrained"]
)
def test_any_altered_byte_is_detected_by_checksummed_formats(name):
    make, image = CODECS[name]
    codec = make()
    data = bytearray(codec.encode(image))
    for position in (len(data) - 1, len(data) // 2, 12, 2, 5):  # payload and header fields
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        with pytest.raises(ValueError):
            codec.decode(bytes(damaged))


@pytest.mark.parametrize(
    "kind,codec", [("learned", comp.LearnedCodec()), ("hyperprior", comp.HyperpriorCodec()), ("pca", _pca_grey())]
)
def test_huge_or_nonsense_header_sizes_are_refused_quickly(kind, codec):
    payload = b"\x00" * 8
    for h, w, c in ((65535, 65535, 3), (0, 10, 3), (10, 10, 7)):
        fields = struct.pack(">BHHB", comp.bitstream.FORMAT_BYTE[kind], h, w, c)
        header = fields + struct.pack(">I", zlib.crc32(fields + payload))
        with pytest.raises(ValueError, match="header"):
            codec.decode(header + payload)


def test_png_is_lossless():
    codec = comp.PillowCodec("PNG")
    assert np.array_equal(codec.decode(codec.encode(PHOTO)), PHOTO)


def test_learned_codec_decodes_exactly_its_reported_reconstruction():
    codec = comp.load_codec("mse_2")
    image = comp.photograph("flower")[:96, :160]
    assert np.array_equal(codec.decode(codec.encode(image)), codec.reconstruct(image))


def test_estimated_and_actual_bits_agree():
    codec = comp.load_codec("mse_2")
    image = comp.photograph("china")[:192, :256]
    payload = len(codec.encode(image)) - comp.HEADER_SIZE
    estimated = codec.estimated_bits(image) / 8
    assert estimated > 100
    assert abs(payload - estimated) <= 0.01 * estimated + 8, (payload, estimated)


def test_hyperprior_codec_codes_side_information_first():
    """The payload is the 4-byte length of the range-coded z, z, then y: each part is really there."""
    codec = comp.load_codec("mse_2")
    assert isinstance(codec, comp.HyperpriorCodec)
    data = codec.encode(comp.photograph("china")[:192, :256])
    n_side = codec.side_information_bytes(data)
    assert 0 < n_side < len(data) - comp.HEADER_SIZE - 4 - n_side, (n_side, len(data))


def test_gaussian_likelihood_at_integers_is_the_coders_probability():
    scales = np.array([0.05, 0.11, 0.7, 3.0, 40.0])
    pmfs = comp.learned.gaussian_pmfs(scales, 8)
    np.testing.assert_allclose(pmfs.sum(axis=1), 1.0, rtol=1e-12)
    q = torch.arange(-3.0, 4.0).expand(len(scales), -1)
    s = torch.as_tensor(np.maximum(scales, comp.learned.SCALE_BOUND), dtype=torch.float32)[:, None]
    p = comp.learned.gaussian_likelihood(q, s.expand_as(q)).numpy()
    bounded = comp.learned.gaussian_pmfs(np.maximum(scales, comp.learned.SCALE_BOUND), 8)
    np.testing.assert_allclose(p, np.maximum(bounded[:, 5:12], 1e-9), rtol=1e-4, atol=1e-9)


def test_pretrained_codec_compresses_and_reconstructs_a_held_out_photo():
    codec = comp.load_codec("mse_2")
    image = comp.photograph("astronaut")[:256, :256]
    metrics = comp.measure(codec, [image])
    assert metrics["bpp"] < 0.6 and metrics["psnr"] > 20 and metrics["ms_ssim"] > 0.85, metrics


def test_header_bytes_measures_the_container():
    jpeg = comp.PillowCodec("JPEG", 50)
    blank = comp.header_bytes(jpeg, (28, 28))
    assert 100 < blank < len(jpeg.encode(GREY))
    assert comp.header_bytes(comp.LearnedCodec(), (64, 64, 3)) == comp.HEADER_SIZE == 10


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


def test_gdn_starts_like_compressai_and_its_coupling_weights_learn():
    gdn = comp.GDN(4)
    beta, gamma = gdn.beta_reparam(gdn.beta), gdn.gamma_reparam(gdn.gamma)
    torch.testing.assert_close(beta, torch.ones(4))
    torch.testing.assert_close(gamma, 0.1 * torch.eye(4), atol=1e-9, rtol=0)
    x = torch.randn(2, 4, 5, 5)
    gdn(x).pow(2).sum().backward()
    off_diagonal = gdn.gamma.grad[~torch.eye(4, dtype=torch.bool)]
    assert (off_diagonal != 0).all(), "a coupling weight that starts at zero must still get a gradient"


def test_gdn_divides_and_inverse_gdn_multiplies():
    x = torch.randn(1, 3, 4, 4)
    norm = torch.sqrt(1.0 + 0.1 * x**2)  # beta = 1, gamma = 0.1 I at the start
    torch.testing.assert_close(comp.GDN(3)(x), x / norm)
    torch.testing.assert_close(comp.GDN(3, inverse=True)(x), x * norm)


def test_nonnegative_reparametrisation_round_trips_and_bounds():
    reparam = comp.NonNegative(minimum=1e-6)
    values = torch.tensor([0.0, 1e-6, 0.5, 3.0])
    torch.testing.assert_close(reparam(reparam.stored(values)), values.clamp_min(1e-6), atol=1e-9, rtol=1e-6)
    assert reparam(torch.tensor([-5.0])).item() >= 1e-6 - 1e-12


def test_density_likelihood_is_the_cdf_difference():
    density = comp.FactorizedDensity(3)
    y = torch.randn(2, 3, 4, 4) * 3
    p = density.likelihood(y)
    torch.testing.assert_close(p, (density.cdf(y + 0.5) - density.cdf(y - 0.5)).clamp_min(1e-9))
    pmfs = density.pmfs(8)  # at integers the same number is the probability the coder uses
    q = torch.arange(-3, 4, dtype=torch.float32).view(1, 1, 1, -1).expand(1, 3, 1, 7)
    np.testing.assert_allclose(density.likelihood(q)[0, :, 0].detach().numpy(), pmfs[:, 5:12], rtol=1e-4)


def test_load_codec_is_the_ready_to_use_codec():
    codec = comp.load_codec("mse_1")
    assert isinstance(codec, comp.LearnedCodec) and not codec.model.training
    with pytest.raises(ValueError, match="unknown codec"):
        comp.load_codec("mse_mid")


def test_shipped_codecs_are_ordered_by_rate():
    image = comp.photograph("astronaut")[:128, :128]
    rates = [comp.rate(comp.load_codec(n), image)[1] for n in ("mse_1", "mse_2", "mse_3", "mse_4")]
    assert rates == sorted(rates), rates


def test_pretrain_stages_form_one_chain_per_shipped_codec():
    """scripts/pretrain_codec.py trains a stage once the stage it starts from is done: every
    ``init`` must name an earlier stage, and the shipped stages are exactly the shipped codecs."""
    names = [s.name for s in comp.PRETRAIN_STAGES]
    assert len(names) == len(set(names)), names
    for i, stage in enumerate(comp.PRETRAIN_STAGES):
        assert stage.init is None or stage.init in names[:i], stage
    assert sorted(s.name for s in comp.PRETRAIN_STAGES if s.shipped) == sorted(comp.SHIPPED)
    for name in comp.SHIPPED:  # each chain keeps its codec's objective after the shared start
        chain = comp.pretrain_lineage(name)
        assert chain[-1].name == "base", chain
        assert len({s.lam for s in chain[:-1] if s.distortion == "mse"}) <= 1, chain


def test_photographs_ship_with_the_packages():
    for name in comp.HELD_OUT + comp.TRAINING:
        image = comp.photograph(name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 256
    assert len(comp.HELD_OUT) >= 4 and not set(comp.HELD_OUT) & set(comp.TRAINING)


def _curve(rates, values):
    return {"bpp": np.array(rates, dtype=float), "psnr": np.array(values, dtype=float)}


def test_equal_rate_per_image_can_disagree_with_averaging_the_settings():
    # Two images, psnr_i(r) = base_i + 3 log2(r / 0.1). Codec B is 0.5 dB better than A on each
    # image at every rate, but its settings put the two images at very different rates (as
    # JPEG 2000's fixed-quality mode does); A's put both at the same rates.
    def psnr(base, rates):
        return [base + 3 * np.log2(r / 0.1) for r in rates]

    a_rates, b_rates = [[0.1, 0.2, 0.4]] * 2, [[0.05, 0.1, 0.2], [0.2, 0.4, 0.8]]
    a = _curve(a_rates, [psnr(30, a_rates[0]), psnr(20, a_rates[1])])
    b = _curve(b_rates, [[v + 0.5 for v in psnr(30, b_rates[0])], [v + 0.5 for v in psnr(20, b_rates[1])]])
    target = [0.2]
    # per image at equal rate, then the mean: B ahead by 0.5 dB on each image
    np.testing.assert_allclose(comp.at_rates(b, target) - comp.at_rates(a, target), 0.5)
    assert comp.mean_at_rates(b, target)[0] - comp.mean_at_rates(a, target)[0] == pytest.approx(0.5)
    # the mean of each setting, then interpolated: A looks ahead
    naive = {name: comp.at_rate(*comp.mean_of_settings(c), 0.2) for name, c in (("a", a), ("b", b))}
    assert naive["a"] > naive["b"] + 0.4


def test_a_rate_that_one_image_misses_has_no_mean():
    curve = _curve([[0.1, 0.4], [0.2, 0.4]], [[20, 30], [25, 30]])
    values = comp.at_rates(curve, [0.15, 0.3])
    assert np.isnan(values[1, 0]) and np.isfinite(values[:, 1]).all()
    mean = comp.mean_at_rates(curve, [0.15, 0.3])
    assert np.isnan(mean[0]) and np.isfinite(mean[1])


def test_rd_curve_measures_every_image_at_every_setting():
    crop = comp.photograph("astronaut")[:192, :192]
    images = [crop, crop[:, ::-1].copy()]
    curve = comp.rd_curve([comp.PillowCodec("JPEG", q) for q in (10, 50)], images)
    assert curve["bpp"].shape == curve["psnr"].shape == curve["ms_ssim"].shape == (2, 2)
    assert (curve["bpp"][:, 1] > curve["bpp"][:, 0]).all() and (curve["psnr"][:, 1] > curve["psnr"][:, 0]).all()


def test_pretraining_runs_every_stage_end_to_end(tmp_path):
    """``scripts/pretrain_codec.py --smoke``: five steps of every stage, in stage order, into a
    temporary folder; the hyperprior stages start from the factorised ones' transforms."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "TMPDIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "scripts/pretrain_codec.py", "--smoke", "--jobs", "1"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "pretrain_smoke"
    for name in comp.SHIPPED:
        model = next(s for s in comp.PRETRAIN_STAGES if s.name == name).build()
        ae.training.load(model, out / f"codec_{name}.pt", device=torch.device("cpu"))  # the right architecture


def test_a_stage_trains_again_when_a_stage_it_starts_from_changes(monkeypatch):
    """The done marker of a stage holds its whole lineage: retraining ``mse_2`` (say, longer)
    must not leave the ``msssim_2`` fine-tuned from the old ``mse_2`` counted as done."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "pretrain_codec.py"
    spec = importlib.util.spec_from_file_location("pretrain_codec", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    stage = next(s for s in comp.PRETRAIN_STAGES if s.name == "msssim_2")
    before = script._lineage(stage)
    assert repr(stage) in before and "'base'" in before
    other = next(s for s in comp.PRETRAIN_STAGES if s.name == "mse_1")
    other_before = script._lineage(other)
    longer = [dataclasses.replace(s, steps=s.steps + 1) if s.name == "mse_2" else s for s in comp.PRETRAIN_STAGES]
    monkeypatch.setattr(comp.photographs, "PRETRAIN_STAGES", tuple(longer))
    assert script._lineage(stage) != before  # fine-tuned from the changed stage: train again
    assert script._lineage(other) == other_before  # another rate point's chain: still done
