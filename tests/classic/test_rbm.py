import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM

from axon.classic.experiments import load_digits_flat, rbm_pipeline_vs_raw
from axon.classic.rbm import RBM
from axon.classic._checks import NotFittedError
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digits_flat()


def twin_models(n_features=12, n_components=5, seed=0):
    """An axon RBM and a scikit-learn BernoulliRBM with the same parameters."""
    rng = np.random.default_rng(seed)
    W, b, c = rng.normal(size=(n_components, n_features)), rng.normal(size=n_features), rng.normal(size=n_components)
    ours = RBM(n_components=n_components, random_state=0)
    ours.components_ = torch.tensor(W, dtype=torch.float32)
    ours.intercept_visible_ = torch.tensor(b, dtype=torch.float32)
    ours.intercept_hidden_ = torch.tensor(c, dtype=torch.float32)
    ours.n_features_in_ = n_features
    theirs = BernoulliRBM(n_components=n_components)
    theirs.components_, theirs.intercept_visible_, theirs.intercept_hidden_ = W, b, c
    theirs.n_features_in_ = n_features
    return ours, theirs


def test_transform_and_free_energy_match_sklearn():
    ours, theirs = twin_models()
    X = np.random.default_rng(1).random((20, 12))
    assert np.allclose(ours.transform(X), theirs.transform(X), atol=1e-5)
    assert np.allclose(ours.free_energy(X), theirs._free_energy(X), rtol=1e-5, atol=1e-4)


def test_pseudo_likelihood_is_sklearns_definition():
    ours, theirs = twin_models()
    X = (np.random.default_rng(2).random((30, 12)) < 0.5).astype(float)
    scores = ours.score_samples(X)
    # the score must be n_features * log sigmoid(F(v with one bit flipped) - F(v)) for some bit
    fe = theirs._free_energy(X)
    for row in range(X.shape[0]):
        candidates = []
        for bit in range(12):
            flipped = X[row].copy()
            flipped[bit] = 1 - flipped[bit]
            gap = theirs._free_energy(flipped[None])[0] - fe[row]
            candidates.append(-12 * np.logaddexp(0, -gap))
        assert np.min(np.abs(np.array(candidates) - scores[row])) < 1e-3
    assert np.array_equal(scores, ours.score_samples(X))  # seeded flips: repeatable
    assert ours.score(X) == pytest.approx(scores.mean())


@pytest.fixture(scope="module")
def sklearn_score(digits):
    theirs = BernoulliRBM(n_components=32, learning_rate=0.05, n_iter=20, random_state=0).fit(digits.x_train)
    return float(theirs.score_samples(digits.x_train).mean())


@pytest.mark.parametrize("kwargs", [
    {"learning_rate": 0.02},  # CD-1, momentum 0.5 then 0.9, weight decay (the guide's defaults)
    {"learning_rate": 0.02, "persistent": True},  # PCD with the same momentum and weight decay
    {"learning_rate": 0.05, "k": 2},  # CD-2
    {"learning_rate": 0.05, "persistent": True, "momentum": 0.0, "initial_momentum": 0.0,
     "weight_decay": 0.0},  # sklearn's algorithm
])
def test_training_raises_pseudo_likelihood_like_sklearn(digits, sklearn_score, kwargs):
    X = digits.x_train
    ours = RBM(n_components=32, n_iter=20, random_state=0, **kwargs).fit(X)
    untrained = RBM(n_components=32, n_iter=1, learning_rate=1e-9, random_state=0).fit(X)
    assert ours.score(X) > untrained.score(X) + 3
    assert ours.score(X) > sklearn_score - 1.0  # at least as good within noise
    assert ours.components_.shape == (32, 64)
    if ours.persistent:
        assert ours.h_samples_.shape == (10, 32)  # one persistent chain per mini-batch row


def test_sparsity_target_lowers_hidden_activity(digits):
    X = digits.x_train
    plain = RBM(n_components=32, n_iter=3, random_state=0).fit(X)
    sparse = RBM(n_components=32, n_iter=3, random_state=0, sparsity_target=0.05, sparsity_cost=1.0).fit(X)
    assert sparse.transform(X).mean() < plain.transform(X).mean() - 0.05


def test_gaussian_visible_units(digits):
    X = (digits.x_train - digits.x_train.mean(0)) / (digits.x_train.std(0) + 1e-3)
    rbm = RBM(n_components=32, visible="gaussian", learning_rate=0.005, n_iter=5, random_state=0).fit(X)
    untrained = RBM(n_components=32, visible="gaussian", learning_rate=1e-9, n_iter=1, random_state=0).fit(X)
    assert rbm.reconstruction_error(X) < untrained.reconstruction_error(X) - 0.1
    assert rbm.score(X) == -rbm.reconstruction_error(X)
    assert rbm.transform(X).shape == (X.shape[0], 32)
    sample = rbm.gibbs(X[:5])
    assert sample.shape == (5, 64) and np.all(np.isfinite(sample))
    with pytest.raises(AxonError, match="pseudo-likelihood needs visible='bernoulli'"):
        rbm.score_samples(X)


def test_gibbs_runs_a_chain(digits):
    rbm = RBM(n_components=16, n_iter=1, random_state=0).fit(digits.x_train)
    first = rbm.gibbs(digits.x_train[:50])
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert not np.array_equal(first, rbm.gibbs(digits.x_train[:50]))


def test_sklearn_api(digits):
    rbm = RBM(n_components=8, n_iter=2)
    assert clone(rbm).get_params() == rbm.get_params()
    search = GridSearchCV(RBM(n_iter=1, random_state=0), {"n_components": [4, 8]}, cv=2).fit(digits.x_train[:200])
    assert search.best_params_["n_components"] in (4, 8)


def test_rbm_features_beat_raw_pixels_on_nudged_digits():
    result = rbm_pipeline_vs_raw(n_components=100, n_iter=10, C_rbm=100.0)
    assert result.rbm_accuracy > result.raw_accuracy + 0.05
    assert result.rbm_accuracy > 0.85


def test_rbm_bad_input():
    with pytest.raises(AxonError, match=r"X: an RBM with Bernoulli visible units expects values in \[0, 1\].*got values in \[0, 16\]"):
        RBM().fit(np.array([[0.0, 16.0], [3.0, 1.0]]))
    with pytest.raises(AxonError, match="values in \\[-1, 0.5\\]"):
        RBM().fit(np.array([[-1.0, 0.5]]))
    rbm = RBM(n_components=3, n_iter=1).fit(np.random.default_rng(0).random((20, 5)))
    with pytest.raises(AxonError, match="X: RBM was fitted with 5 features per sample, got 4"):
        rbm.transform(np.zeros((2, 4)))
    with pytest.raises(AxonError, match="visible: expected one of bernoulli, gaussian, got 'binary'"):
        RBM(visible="binary").fit(np.zeros((2, 2)))
    with pytest.raises(AxonError, match="momentum: expected a number in \\[0, 1\\), got 1.5"):
        RBM(momentum=1.5).fit(np.zeros((2, 2)))
    with pytest.raises(NotFittedError, match="call fit"):
        RBM().transform(np.zeros((2, 2)))
    with pytest.raises(AxonError, match="binarize: applies to Bernoulli visible units only"):
        RBM(visible="gaussian", binarize=0.5).fit(np.zeros((2, 2)))


def test_binarize_threshold():
    data = np.array([[0.0, 16.0, 8.0], [3.0, 7.9, 12.0]] * 5)
    binary = (data >= 8).astype(float)
    ours = RBM(n_components=3, n_iter=2, binarize=8, random_state=0).fit(data)
    twin = RBM(n_components=3, n_iter=2, random_state=0).fit(binary)
    assert np.array_equal(ours.components_.numpy(), twin.components_.numpy())
    assert np.array_equal(ours.transform(data), twin.transform(binary))


def _exact_log_likelihood(rbm, data):
    """Mean log p(v) of binary rows, by enumerating every visible state."""
    from axon.classic.boltzmann import all_binary_states

    states = all_binary_states(data.shape[1], dtype=torch.float32)
    log_z = torch.logsumexp(-torch.as_tensor(rbm.free_energy(states), dtype=torch.float64), 0)
    return float((-torch.as_tensor(rbm.free_energy(data), dtype=torch.float64) - log_z).mean())


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_sums_the_hidden_states(visible):
    from axon.classic.boltzmann import all_binary_states

    ours, _ = twin_models(n_features=4, n_components=3)
    ours.visible = visible
    W, b, c = (t.double() for t in (ours.components_, ours.intercept_visible_, ours.intercept_hidden_))
    v = torch.as_tensor(np.random.default_rng(3).random((5, 4)))
    h = all_binary_states(3)
    visible_term = v @ b if visible == "bernoulli" else -0.5 * ((v - b) ** 2).sum(1)
    # -E(v, h) for every (v, h); F(v) = -log sum_h exp(-E(v, h))
    minus_energy = visible_term[:, None] + (h @ c)[None, :] + v @ W.T @ h.T
    expected = -torch.logsumexp(minus_energy, dim=1)
    assert np.allclose(ours.free_energy(v.numpy()), expected.numpy(), atol=1e-4)


@pytest.fixture(scope="module")
def three_modes():
    rng = np.random.default_rng(0)
    modes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=np.float32)
    return modes[rng.integers(0, 3, 600)]


def test_cd_raises_the_exact_likelihood(three_modes):
    """A 6-visible RBM on a 3-mode distribution: the exact log-likelihood (all 64 visible
    states enumerated) rises towards the data's own bound log(1/3) = -1.10."""
    untrained = RBM(n_components=4, n_iter=1, learning_rate=1e-9, random_state=0).fit(three_modes)
    trained = RBM(n_components=4, n_iter=30, learning_rate=0.05, k=3, random_state=0).fit(three_modes)
    before, after = _exact_log_likelihood(untrained, three_modes), _exact_log_likelihood(trained, three_modes)
    assert after > before + 1.0
    assert after > np.log(1 / 3) - 0.6


def test_pcd_matches_sklearn_in_exact_likelihood(three_modes):
    """scikit-learn's algorithm (PCD, no momentum or weight decay, batches in order):
    axon's exact log-likelihood is as good as BernoulliRBM's on the same problem."""
    from scipy.special import logsumexp

    from axon.classic.boltzmann import all_binary_states

    common = dict(n_components=4, n_iter=60, learning_rate=0.02, random_state=0)
    ours = RBM(persistent=True, momentum=0.0, initial_momentum=0.0, weight_decay=0.0, shuffle=False,
               **common).fit(three_modes)
    theirs = BernoulliRBM(**common).fit(three_modes)
    states = all_binary_states(6).numpy()
    sklearn_ll = float(np.mean(-theirs._free_energy(three_modes)) - logsumexp(-theirs._free_energy(states)))
    untrained = RBM(n_components=4, n_iter=1, learning_rate=1e-9, random_state=0).fit(three_modes)
    ours_ll = _exact_log_likelihood(ours, three_modes)
    assert ours_ll > _exact_log_likelihood(untrained, three_modes) + 1.0
    assert ours_ll > sklearn_ll - 0.3


def _reference_fit(X, params, theta0, orders, noise, chunk):
    """The RBM updates written out plainly in float64 NumPy (separate W, b, c; one
    mini-batch at a time, as scikit-learn's BernoulliRBM), fed the loop's own random draws:
    `orders` the sample order of each epoch, `noise` the (visible, hidden) draw buffers of
    each chunk of `chunk` mini-batches of an epoch, a unit being on when its draw is below
    its probability."""
    p = params
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    nh, nf = p["n_components"], X.shape[1]
    W, c, b = theta0[:nh, :nf].copy(), theta0[:nh, nf].copy(), theta0[nh, :nf].copy()
    velocity = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
    n_batches = -(-X.shape[0] // p["batch_size"])
    chain = np.zeros((p["batch_size"], nh))
    activity = np.full(nh, p.get("sparsity_target") or 0.0)
    lr, chunks = p["learning_rate"], iter(noise)
    for epoch, order in enumerate(orders):
        momentum = p["initial_momentum"] if epoch < p["momentum_switch"] else p["momentum"]
        for step, v in enumerate(np.array_split(X[order], n_batches)):
            if step % chunk == 0:
                drawn = next(chunks)
            visible_noise, hidden_noise = (draws[:, step % chunk] for draws in drawn)
            n = v.shape[0]
            h_pos = sigmoid(v @ W.T + c)
            h = chain if p["persistent"] else (hidden_noise[-1, :n] < h_pos).astype(float)
            for s in range(p["k"]):
                rows = h.shape[0]
                if p["visible"] == "bernoulli":
                    v_neg = (visible_noise[s, :rows] < sigmoid(h @ W + b)).astype(float)
                else:
                    v_neg = h @ W + b + visible_noise[s, :rows]
                h_neg = sigmoid(v_neg @ W.T + c)
                h = (hidden_noise[s, :rows] < h_neg).astype(float)
            chain = h
            dW = lr * (h_pos.T @ v / n - h_neg.T @ v_neg / rows) - lr * p["weight_decay"] * W
            db = lr * (v.mean(0) - v_neg.mean(0))
            dc = lr * (h_pos.mean(0) - h_neg.mean(0))
            if p.get("sparsity_target") is not None:
                activity = p["sparsity_decay"] * activity + (1 - p["sparsity_decay"]) * h_pos.mean(0)
                penalty = p["sparsity_cost"] * (activity - p["sparsity_target"])
                dW -= lr * np.outer(penalty, v.mean(0))
                dc -= lr * penalty
            if p["momentum"] or p["initial_momentum"]:
                velocity = [momentum * old + new for old, new in zip(velocity, (dW, db, dc))]
                dW, db, dc = velocity
            W, b, c = W + dW, b + db, c + dc
    return W, b, c, chain


@pytest.mark.parametrize("kwargs", [
    {"persistent": True, "momentum": 0.0, "initial_momentum": 0.0, "weight_decay": 0.0, "shuffle": False},  # sklearn's
    {"persistent": True, "k": 2, "momentum_switch": 1, "weight_decay": 0.5},
    {"sparsity_target": 0.1, "sparsity_cost": 0.5, "initial_momentum": 0.0, "momentum_switch": 2},
    {"k": 2, "visible": "gaussian", "learning_rate": 0.01},
    {"persistent": True, "batch_size": 20, "momentum": 0.0},  # 20 chains, mini-batches of 16, 16, 15
])
def test_fast_loop_matches_the_plain_updates(monkeypatch, kwargs):
    """The loop's batched, in-place updates (one block per mini-batch, padded short batches,
    draws made many mini-batches at a time) give the weights of the plain per-mini-batch
    updates fed the same random draws."""
    import axon.classic.rbm_fit as rbm_fit

    record = {"noise": [], "orders": []}
    draw, epoch, init = rbm_fit.ContrastiveDivergence._draw, rbm_fit.ContrastiveDivergence.epoch, \
        rbm_fit.ContrastiveDivergence.__init__

    def spy_init(self, rbm, theta, data, gen):
        record["theta"] = theta.double().numpy().copy()
        init(self, rbm, theta, data, gen)

    def spy_draw(self):
        draw(self)
        record["noise"].append((self.visible_noise.double().numpy().copy(), self.hidden_noise.double().numpy().copy()))
        record["chunk"] = self.chunk

    def spy_epoch(self, momentum):
        epoch(self, momentum)
        record["orders"].append(self.order[: self.n_samples].numpy().copy())

    monkeypatch.setattr(rbm_fit, "NOISE_BYTES", 3200)  # a few mini-batches per draw
    monkeypatch.setattr(rbm_fit.ContrastiveDivergence, "__init__", spy_init)
    monkeypatch.setattr(rbm_fit.ContrastiveDivergence, "_draw", spy_draw)
    monkeypatch.setattr(rbm_fit.ContrastiveDivergence, "epoch", spy_epoch)
    rng = np.random.default_rng(4)
    X = rng.random((47, 12)) * (rng.random((47, 12)) < 0.6)  # 47 rows: mini-batches of 10, 10, 9, 9, 9
    if kwargs.get("visible") == "gaussian":
        X = (X - X.mean(0)) / X.std(0)
    rbm = RBM(**{"n_components": 5, "n_iter": 3, "learning_rate": 0.1, "random_state": 0, **kwargs}).fit(X)
    assert 1 < record["chunk"] < 5
    for order in record["orders"]:
        assert sorted(order) == list(range(47))
    if rbm.shuffle:
        assert not np.array_equal(record["orders"][0], record["orders"][1])
    W, b, c, chain = _reference_fit(X, rbm.get_params(), record["theta"], record["orders"], record["noise"],
                                    record["chunk"])
    assert np.allclose(rbm.components_.numpy(), W, atol=1e-5)
    assert np.allclose(rbm.intercept_visible_.numpy(), b, atol=1e-5)
    assert np.allclose(rbm.intercept_hidden_.numpy(), c, atol=1e-5)
    assert np.array_equal(rbm.h_samples_.numpy(), chain)


def test_uniform_draws():
    from axon.classic.rbm_fit import Uniforms

    draws = [torch.empty(100_001) for _ in range(2)]
    for out in draws:
        Uniforms(torch.Generator().manual_seed(3), torch.device("cpu")).fill_(out)
    assert torch.equal(draws[0], draws[1])  # seeded from the generator
    assert 0.0 <= draws[0].min() and draws[0].max() < 1.0
    assert abs(draws[0].mean().item() - 0.5) < 0.005 and abs(draws[0].var().item() - 1 / 12) < 0.002
    assert torch.unique(draws[0]).numel() > 99_000  # 24 random bits each
    histogram = torch.histc(draws[0], bins=10, min=0.0, max=1.0)
    assert (histogram - 10_000).abs().max() < 500


def test_sample_and_reconstruct():
    digits = load_digits_flat()
    rbm = RBM(n_components=32, n_iter=3, learning_rate=0.02, random_state=0).fit(digits.x_train[:300])
    chains = rbm.sample(5, n_steps=20, record_every=10)
    assert chains.shape == (3, 5, 64)
    assert set(np.unique(chains[0])) <= {0.0, 1.0}  # the start: random bits
    assert np.array_equal(rbm.sample(5, n_steps=20), chains[-1])  # seeded: the same chains
    assert not np.array_equal(rbm.sample(5, n_steps=20, random_state=3), chains[-1])
    from_data = rbm.sample(n_steps=1, start=digits.x_test[:4])
    assert from_data.shape == (4, 64) and from_data.min() >= 0 and from_data.max() <= 1
    reconstructions = rbm.reconstruct(digits.x_test[:50])
    assert np.mean((reconstructions - digits.x_test[:50]) ** 2) == pytest.approx(
        rbm.reconstruction_error(digits.x_test[:50]), rel=1e-5)
    persistent = rbm.visible_means(rbm.h_samples_)
    assert persistent.shape == (rbm.h_samples_.shape[0], 64)
    with pytest.raises(AxonError, match="n_steps: expected a positive integer"):
        rbm.sample(2, n_steps=0)
