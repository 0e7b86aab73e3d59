"""Generative and self-supervised models on Fashion-MNIST, the runs Chapter 16 quotes from
``results/generative.json``.

    python benchmarks/bench_generative.py            # every part, seeds 0, 1, 2
    python benchmarks/bench_generative.py --quick    # one seed, fewer steps (a smoke run)

The parts can run in separate processes (``--parts gan --losses minimax --out gan_mm``
writes ``generative_gan_mm.json``) and be joined afterwards
(``--merge gan_mm simclr0 ...`` replaces those parts of ``generative.json``); this is how the
committed file was made, on a shared machine. Each part, seeds 0, 1, 2:

- **vae**: a VAE (``dlcourse.vae.mlp_vae``, 784-64-2, tanh, Bernoulli decoder) against the
  plain autoencoder of Chapter 17 (784-64-2-64-784, quadratic cost), same data (5,000
  images), 20 epochs, Adam 2e-3. Reported: test reconstruction cost ½‖x − x̂‖², and the MMD²
  between 1,000 decoded draws z ~ N(0, I) (for the autoencoder also z from a Gaussian fitted
  to its training codes) and 1,000 test images, in the judge's feature space (below).
- **gan**: a GAN of two MLPs (PyTorch), generator 64-256-784 (sigmoid), discriminator
  784-256-1 (leaky ReLU), Adam 2e-4 (β₁ = 0.5), batch 64, 10,000 training images, 12 epochs
  (``--gan-n``, ``--gan-epochs``): the non-saturating generator loss −ln D(G(u)), the
  minimax loss ln(1 − D(G(u))), and the non-saturating loss with a packed discriminator
  (``--gan-pack 2``: it judges pairs of samples). After every epoch: 8 samples of fixed
  noise (pixels rounded to 1/255) and, for 2,000 samples, the judge's class histogram, the
  classifier score exp(E_x KL(p(y|x) ‖ p(y))) and the MMD² to 2,000 test images in the
  judge's features.
- **ring**: a mixture of 8 Gaussians on a circle (radius 2, σ = 0.05), GAN 2-128-128-2 /
  2-128-128-1 (ReLU) without and with packing (4 samples per judgement), 3,000 steps of
  batch 256. Reported: modes with >= 1 % of 2,000 samples within 3σ, the fraction of such
  samples, snapshots.
- **simclr**: SimCLR with an MLP encoder 784-512-128 (ReLU) and a head 128-64, NT-Xent at
  τ = 0.5 (``dlcourse.contrastive``'s loss written in torch), two random affine
  augmentations (scale, shift, flip) plus noise, batch 512, 3 epochs (``--simclr-epochs``)
  on the 60,000 training images. Linear probe (logistic regression on the 128 features) with
  1 % and 10 % of the labels, against the same probe on a randomly initialised encoder and
  on the raw pixels, and against the same architecture trained with those labels only.

The *judge* is a torch MLP 784-256-128-10 trained for 5 epochs on the 60,000 training images
(its test accuracy is stored; it is cached in the temporary folder for the other processes);
its 128 penultimate features are the feature space of every MMD. All torch work runs on one
thread.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import benchmarks._results as store  # noqa: E402
from dlcourse import data, optim  # noqa: E402
from dlcourse.layers import Activation, Linear, Model  # noqa: E402
from dlcourse.mmd import median_heuristic, mmd2  # noqa: E402
from dlcourse.vae import mlp_vae  # noqa: E402

torch.set_num_threads(1)


def fashion_arrays():
    ds = data.load_mnist("fashion", progress=False, dtype="float32")
    return ds.X_train, ds.y_train, ds.X_test, ds.y_test


# ----------------------------------------------------------------------------- the judge
def train_judge(X, y, X_te, y_te, epochs, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10))  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Xt, yt = torch.tensor(X), torch.tensor(y, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), 128):
            idx = order[start : start + 128]
            loss = F.cross_entropy(net(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.tensor(X_te)).argmax(1).numpy() == y_te).mean())
    return net, acc


def judge_outputs(judge, X):
    """(class probabilities (m, 10), penultimate features (m, 128)) as float64 arrays."""
    with torch.no_grad():
        h = judge[:4](torch.as_tensor(X, dtype=torch.float32))
        p = F.softmax(judge[4](h), dim=1)
    return p.numpy().astype(float), h.numpy().astype(float)


def sample_scores(judge, samples, real_features, bandwidth):
    p, h = judge_outputs(judge, samples)
    marginal = p.mean(axis=0)
    kl = np.sum(p * (np.log(p + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    counts = np.bincount(p.argmax(axis=1), minlength=10)
    return {
        "classifier_score": float(np.exp(kl.mean())),
        "class_counts": counts.tolist(),
        "mmd2": mmd2(h, real_features, bandwidth=bandwidth),
    }


# ----------------------------------------------------------------------------- VAE vs AE
def run_vae(X, X_te, judge, real_feat, bandwidth, seeds, epochs, n_train=5000):
    rows = []
    for seed in seeds:
        pick = np.random.default_rng(seed).permutation(len(X))[:n_train]
        Xs = X[pick].astype(float)
        start = time.perf_counter()
        vae = mlp_vae(784, 64, 2, seed=seed)
        vae.fit(Xs, epochs=epochs, batch_size=50, optimizer=optim.Adam(lr=2e-3))
        mu, _ = vae.encode(X_te.astype(float))
        vae_recon = vae.decode(mu)
        vae_samples = vae.sample(1000)
        vae_seconds = time.perf_counter() - start
        encoder = [Linear(784, 64, seed=100 + seed), Activation("tanh"),
                   Linear(64, 2, seed=101 + seed)]  # fmt: skip
        decoder = [Linear(2, 64, seed=102 + seed), Activation("tanh"),
                   Linear(64, 784, seed=103 + seed), Activation("sigmoid")]  # fmt: skip
        ae = Model(encoder + decoder, cost="quadratic", seed=seed)
        start = time.perf_counter()
        ae.fit(Xs, Xs, epochs=epochs, batch_size=50, optimizer=optim.Adam(lr=2e-3),
               progress=False)  # fmt: skip
        ae_seconds = time.perf_counter() - start
        codes = Model(encoder, cost="quadratic").forward(Xs)
        fitted = np.random.default_rng(seed).multivariate_normal(
            codes.mean(axis=0), np.cov(codes.T), size=1000
        )
        ae_samples = Model(decoder, cost="quadratic").forward(fitted)
        prior = np.random.default_rng(seed).standard_normal((1000, 2))
        ae_prior_samples = Model(decoder, cost="quadratic").forward(prior)
        row = {"seed": seed, "vae_seconds": vae_seconds, "ae_seconds": ae_seconds}
        for name, recon in (("vae", vae_recon), ("ae", ae.forward(X_te.astype(float)))):
            row[f"{name}_recon_cost"] = float(0.5 * np.mean(np.sum((X_te - recon) ** 2, axis=1)))
        for name, samples in (("vae", vae_samples), ("ae_fitted_gaussian", ae_samples),
                              ("ae_standard_normal", ae_prior_samples)):  # fmt: skip
            row[f"{name}_mmd2"] = sample_scores(judge, samples, real_feat, bandwidth)["mmd2"]
        row["ae_code_std"] = codes.std(axis=0).tolist()
        rows.append(row)
        print(f"vae seed {seed}: {row}", flush=True)
    return rows


# ----------------------------------------------------------------------------- GAN
def mlp_gan(noise_dim, hidden, n_out, pack=1, leaky=True, out_sigmoid=True):
    act = nn.LeakyReLU(0.2) if leaky else nn.ReLU()
    G = [nn.Linear(noise_dim, hidden), act, nn.Linear(hidden, n_out)]
    if out_sigmoid:
        G.append(nn.Sigmoid())
    return nn.Sequential(*G), nn.Sequential(nn.Linear(n_out * pack, hidden), act,
                                            nn.Linear(hidden, 1))  # fmt: skip


def generator_loss(logits_fake, kind):
    if kind == "non-saturating":  # −ln D(G(u)) = BCE with target 1
        return F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))
    # minimax: minimise ln(1 − D(G(u))) = −BCE with target 0
    return -F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))


def gan_step(G, D, opt_g, opt_d, real, noise_dim, kind, pack=1):
    m = real.shape[0]
    fake = G(torch.randn(m, noise_dim))
    d_real, d_fake = D(real.reshape(m // pack, -1)), D(fake.detach().reshape(m // pack, -1))
    d_loss = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \
        F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))  # fmt: skip
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = generator_loss(D(fake.reshape(m // pack, -1)), kind)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def run_gan(
    X,
    judge,
    real_feat,
    bandwidth,
    seeds,
    epochs,
    n_train=20000,
    losses=("non-saturating", "minimax"),
    pack=1,
):
    runs = []
    for kind in losses:
        for seed in seeds:
            torch.manual_seed(seed)
            pick = np.random.default_rng(seed).permutation(len(X))[:n_train]
            Xt = torch.tensor(X[pick])
            G, D = mlp_gan(64, 256, 784, pack=pack)
            opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
            fixed = torch.randn(8, 64, generator=torch.Generator().manual_seed(1000))
            run = {"loss": kind, "pack": pack, "seed": seed, "epochs": []}
            start = time.perf_counter()
            for epoch in range(1, epochs + 1):
                order = torch.randperm(len(Xt))
                d_sum = g_sum = 0.0
                steps = 0
                for s in range(0, len(Xt) - 63, 64):
                    d, g = gan_step(G, D, opt_g, opt_d, Xt[order[s : s + 64]], 64, kind, pack)
                    d_sum, g_sum, steps = d_sum + d, g_sum + g, steps + 1
                with torch.no_grad():
                    samples = G(torch.randn(2000, 64)).numpy()
                    shown = np.round(G(fixed).numpy() * 255).astype(int)
                scores = sample_scores(judge, samples, real_feat, bandwidth)
                run["epochs"].append({"epoch": epoch, "d_loss": d_sum / steps,
                                      "g_loss": g_sum / steps, **scores,
                                      "samples_255": shown.tolist()})  # fmt: skip
                print(f"gan {kind} seed {seed} epoch {epoch}: score "
                      f"{scores['classifier_score']:.2f} mmd2 {scores['mmd2']:.4f} "
                      f"counts {scores['class_counts']}", flush=True)  # fmt: skip
            run["seconds"] = time.perf_counter() - start
            runs.append(run)
    return runs


def ring_centres(k=8, radius=2.0):
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_metrics(samples, centres, sigma):
    dist = np.linalg.norm(samples[:, None, :] - centres[None], axis=2)
    near, which = dist.min(axis=1) < 3 * sigma, dist.argmin(axis=1)
    counts = np.bincount(which[near], minlength=len(centres))
    return {"modes": int(np.sum(counts >= 0.01 * len(samples))),
            "high_quality": float(near.mean()), "counts": counts.tolist()}  # fmt: skip


RING = {"noise_dim": 2, "hidden": 128, "lr": 1e-3, "batch": 256, "sigma": 0.05, "pack": 4}


def run_ring(seeds, steps, snapshots, packs=(1, RING["pack"])):
    """Plain and packed GANs on the ring: generator 2-128-128-2 and discriminator
    (2·pack)-128-128-1, ReLU, non-saturating loss, Adam 1e-3 (β₁ = 0.5), batch 256."""
    centres, cfg = ring_centres(), RING
    runs = []
    for pack in packs:
        for seed in seeds:
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            h = cfg["hidden"]
            G = nn.Sequential(nn.Linear(cfg["noise_dim"], h), nn.ReLU(), nn.Linear(h, h),
                              nn.ReLU(), nn.Linear(h, 2))  # fmt: skip
            D = nn.Sequential(nn.Linear(2 * pack, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                              nn.Linear(h, 1))  # fmt: skip
            opt_g = torch.optim.Adam(G.parameters(), cfg["lr"], betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), cfg["lr"], betas=(0.5, 0.999))
            run = {"pack": pack, "seed": seed, "snapshots": []}
            start = time.perf_counter()
            for step in range(1, steps + 1):
                real = centres[rng.integers(8, size=cfg["batch"])] + cfg[
                    "sigma"
                ] * rng.standard_normal((cfg["batch"], 2))
                gan_step(G, D, opt_g, opt_d, torch.tensor(real, dtype=torch.float32),
                         cfg["noise_dim"], "non-saturating", pack)  # fmt: skip
                if step in snapshots:
                    with torch.no_grad():
                        s = G(torch.randn(2000, cfg["noise_dim"])).numpy().astype(float)
                    snap = {"step": step, **ring_metrics(s, centres, cfg["sigma"])}
                    if seed == seeds[0]:
                        snap["samples"] = np.round(s[:500], 3).tolist()
                    run["snapshots"].append(snap)
            run["seconds"] = time.perf_counter() - start
            last = run["snapshots"][-1]
            print(f"ring pack {pack} seed {seed}: modes {last['modes']} hq "
                  f"{last['high_quality']:.2f} counts {last['counts']}", flush=True)  # fmt: skip
            runs.append(run)
    return runs


# ----------------------------------------------------------------------------- SimCLR
def augment(x, gen):
    """Random affine view of a batch (m, 784): scale 0.8-1.1, shift up to ±3 px, flip, noise."""
    m = x.shape[0]
    img = x.reshape(m, 1, 28, 28)
    scale = 0.8 + 0.3 * torch.rand(m, generator=gen)
    flip = torch.where(torch.rand(m, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(m, 2, generator=gen) - 0.5) * (6 / 14)
    theta = torch.zeros(m, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, (m, 1, 28, 28), align_corners=False)
    out = F.grid_sample(img, grid, align_corners=False, padding_mode="zeros")
    out = out + 0.1 * torch.randn(out.shape, generator=gen)
    return out.reshape(m, 784)


def nt_xent(z, tau):
    """NT-Xent of z (2N, d): the loss of dlcourse.contrastive.nt_xent_loss, in torch."""
    u = F.normalize(z, dim=1)
    s = u @ u.T / tau
    s = s.masked_fill(torch.eye(len(z), dtype=torch.bool), float("-inf"))
    n = len(z) // 2
    target = (torch.arange(len(z)) + n) % len(z)
    return F.cross_entropy(s, target)


def encoder_net():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 128), nn.ReLU())


def features(enc, X):
    with torch.no_grad():
        return enc(torch.as_tensor(X)).numpy().astype(float)


def linear_probe(F_tr, y_tr, F_te, y_te):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(F_tr)
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(scaler.transform(F_tr), y_tr)
    return float(np.mean(clf.predict(scaler.transform(F_te)) == y_te))


def supervised(X, y, X_te, y_te, seed, steps=1500):
    torch.manual_seed(seed)
    net = nn.Sequential(encoder_net(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Xt, yt = torch.tensor(X), torch.tensor(y, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    batch = min(128, len(Xt))
    for _ in range(steps):
        idx = torch.randint(len(Xt), (batch,), generator=gen)
        loss = F.cross_entropy(net(Xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((net(torch.tensor(X_te)).argmax(1).numpy() == y_te).mean())


def run_simclr(X, y, X_te, y_te, seeds, epochs, fractions=(0.01, 0.1), batch=512, tau=0.5):
    rows = []
    for seed in seeds:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        enc, head = encoder_net(), nn.Linear(128, 64)
        random_enc = encoder_net()  # a second draw of the same initialisation: the control
        params = [*enc.parameters(), *head.parameters()]
        opt = torch.optim.Adam(params, 1e-3)
        Xt = torch.tensor(X)
        losses, start = [], time.perf_counter()
        for _ in range(epochs):
            order, total, steps = torch.randperm(len(Xt), generator=gen), 0.0, 0
            for s in range(0, len(Xt) - batch + 1, batch):
                x = Xt[order[s : s + batch]]
                z = head(enc(torch.cat([augment(x, gen), augment(x, gen)])))
                loss = nt_xent(z, tau)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
            losses.append(total / steps)
        seconds = time.perf_counter() - start
        feats = {"SimCLR encoder": (features(enc, X), features(enc, X_te)),
                 "random encoder": (features(random_enc, X), features(random_enc, X_te)),
                 "raw pixels": (X.astype(float), X_te.astype(float))}  # fmt: skip
        row = {"seed": seed, "pretrain_seconds": seconds, "pretrain_loss": losses, "probe": {}}
        rng = np.random.default_rng(seed)
        for frac in fractions:
            labelled = rng.permutation(len(X))[: int(round(frac * len(X)))]
            accs = {name: linear_probe(tr[labelled], y[labelled], te, y_te)
                    for name, (tr, te) in feats.items()}  # fmt: skip
            accs["supervised (same network, labels only)"] = supervised(
                X[labelled], y[labelled], X_te, y_te, seed
            )
            row["probe"][str(frac)] = accs
            print(f"simclr seed {seed} labels {frac:.0%}: {accs}", flush=True)
        rows.append(row)
    return rows


# keyed by the judge's code, so that a changed judge is never read from an old cache
_JUDGE_KEY = hashlib.sha256(inspect.getsource(train_judge).encode()).hexdigest()[:12]
JUDGE_CACHE = Path(tempfile.gettempdir()) / f"dlcourse_bench_generative_judge_{_JUDGE_KEY}.pt"


def judge_setup(X, y, X_te, y_te, epochs):
    """The judge (trained once, then cached for the other parts' processes) and its yardsticks."""
    if JUDGE_CACHE.exists() and not epochs < 5:
        judge, acc = torch.load(JUDGE_CACHE, weights_only=False)
    else:
        judge, acc = train_judge(X, y, X_te, y_te, epochs=epochs)
        if epochs >= 5:
            torch.save((judge, acc), JUDGE_CACHE)
    _, real_feat = judge_outputs(judge, X_te[:2000])
    _, real_feat_b = judge_outputs(judge, X_te[2000:4000])
    bandwidth = median_heuristic(real_feat)
    info = {"test_accuracy": acc, "epochs": epochs, "mmd_bandwidth": bandwidth,
            "real_vs_real_mmd2": mmd2(real_feat_b, real_feat, bandwidth=bandwidth)}  # fmt: skip
    return judge, real_feat, bandwidth, info


def merge(base_name, part_names, note=""):
    """Join the part files (runs of the same experiment from several processes) into one."""
    parts = [json.loads((store.RESULTS / f"{base_name}_{n}.json").read_text()) for n in part_names]
    base = json.loads((store.RESULTS / f"{base_name}.json").read_text())
    replaced = {k for p in parts for k in ("vae", "ring", "gan", "simclr") if k in p}
    merged = {k: v for k, v in base.items() if k not in replaced and k != "machine"}
    for part in parts:
        assert part["judge"]["test_accuracy"] == merged["judge"]["test_accuracy"], "judge differs"
        for key in replaced & part.keys():
            if key in merged:
                merged[key]["runs"] += part[key]["runs"]
            else:
                merged[key] = part[key]
    merged["seeds"] = sorted({r["seed"] for k in replaced for r in merged[k]["runs"]})
    merged["parts_merged"] = list(part_names)
    if note:
        merged["note"] = note
    return store.save(base_name, merged)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, short runs")
    parser.add_argument("--parts", default="vae,ring,gan,simclr")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--losses", default="non-saturating,minimax", help="GAN generator losses")
    parser.add_argument("--packs", default="1,4", help="ring: discriminator packing")
    parser.add_argument("--gan-pack", type=int, default=1, help="Fashion-MNIST GAN: packing")
    parser.add_argument("--gan-epochs", type=int, default=12)
    parser.add_argument("--gan-n", type=int, default=10000, help="GAN training images")
    parser.add_argument("--simclr-epochs", type=int, default=3)
    parser.add_argument("--out", default="", help="write generative_<out>.json (a part file)")
    parser.add_argument(
        "--merge", nargs="*", help="join the files generative_<part>.json into generative.json"
    )
    parser.add_argument("--note", default="", help="with --merge: a remark stored in the file")
    args = parser.parse_args(argv)
    if args.merge:
        print(f"wrote {merge('generative', args.merge, args.note)}")
        return
    quick = args.quick
    seeds = [0] if quick else [int(s) for s in args.seeds.split(",")]
    name = "generative" + ("_quick" if quick else "") + (f"_{args.out}" if args.out else "")
    X, y, X_te, y_te = fashion_arrays()
    start = time.perf_counter()
    judge, real_feat, bandwidth, info = judge_setup(X, y, X_te, y_te, 1 if quick else 5)
    print(f"judge test accuracy {info['test_accuracy']:.4f} ({time.perf_counter() - start:.0f} s)")
    results = {"quick": quick, "seeds": seeds, "judge": info}
    parts = args.parts.split(",")
    if "vae" in parts:
        results["vae"] = {"epochs": 5 if quick else 20, "n_train": 5000,
                          "runs": run_vae(X, X_te, judge, real_feat[:1000], bandwidth, seeds,
                                          5 if quick else 20)}  # fmt: skip
        store.save(name, results)
    if "ring" in parts:
        steps = 600 if quick else 3000
        snaps = (steps // 6, steps // 3, steps // 2, steps)
        packs = tuple(int(p) for p in args.packs.split(","))
        results["ring"] = {"steps": steps, **RING, "centres": ring_centres().tolist(),
                           "runs": run_ring(seeds, steps, snaps, packs)}  # fmt: skip
        store.save(name, results)
    if "gan" in parts:
        epochs, n_train = (2, 2000) if quick else (args.gan_epochs, args.gan_n)
        losses = args.losses.split(",")
        results["gan"] = {"epochs": epochs, "n_train": n_train,
                          "runs": run_gan(X, judge, real_feat, bandwidth, seeds, epochs,
                                          n_train, losses, args.gan_pack)}  # fmt: skip
        store.save(name, results)
    if "simclr" in parts:
        epochs = 1 if quick else args.simclr_epochs
        Xs, ys = (X[:6000], y[:6000]) if quick else (X, y)
        results["simclr"] = {"epochs": epochs, "batch": 512, "temperature": 0.5,
                             "n_unlabelled": len(Xs),
                             "runs": run_simclr(Xs, ys, X_te, y_te, seeds, epochs)}  # fmt: skip
    results["total_seconds"] = time.perf_counter() - start
    path = store.save(name, results)
    print(f"wrote {path} in {math.ceil(results['total_seconds'])} s")


if __name__ == "__main__":
    main()
