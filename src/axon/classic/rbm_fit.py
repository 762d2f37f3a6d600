"""The RBM's learning loop: CD-k and PCD-k mini-batch updates in a few large, in-place
tensor operations, every buffer allocated once per fit (what dominates on small data is
the cost of each operation, not its arithmetic).

Layout. The parameters are one matrix with bias units, theta (n_hidden + 1, n_features + 1)
= [[W, c], [b, 0]] (see RBM._init_params). A mini-batch's negative (model) samples and its
data are stacked, in that order, into one block V (n_neg + n_pos, n_features + 1) whose last
column is the bias unit (1), so that
- one product V @ theta[:n_hidden].T gives the hidden input of both phases (PCD), and
- one product G^T V, with G the hidden probabilities (and their bias unit) scaled by
  -lr/n_neg on the model rows and +lr/n_pos on the data rows, gives the whole update
  lr * (<h v^T>_data - <h v^T>_model) of W, b and c.
Each epoch copies the (shuffled) data once into a buffer in which mini-batch i's block
starts n_neg rows above its data, over rows of mini-batches already used: the negative
samples are written there, and no mini-batch is copied. When n_samples is not a multiple
of the batch size the shorter mini-batches are padded with rows whose scale is 0.

Sampling. A binary unit is on when a uniform draw (Uniforms) falls below its probability;
Gaussian visible units add a standard normal draw to their input. The draws of up to
NOISE_BYTES worth of an epoch's mini-batches are made at once, at the first of them: the
visible draws (k per mini-batch), then the hidden ones (k per mini-batch, and under CD one
more, stored last, for the sample of the data's hidden units)."""

from __future__ import annotations

import itertools

import numpy as np
import torch

ALIGN = 16  # floats: rows start on 64-byte boundaries, which BLAS handles faster
NOISE_BYTES = 1 << 20  # the random draws made in one call: at most 1 MiB (stays in cache)


def padded(rows: int, cols: int, device, fill: float = 0.0) -> torch.Tensor:
    """A contiguous (rows, cols rounded up to a multiple of ALIGN) tensor of `fill`."""
    return torch.full((rows, -(-cols // ALIGN) * ALIGN), fill, device=device)


def aligned(rows: int, cols: int, device, fill: float = 0.0) -> torch.Tensor:
    """A (rows, cols) tensor of `fill` whose rows start every multiple of ALIGN floats."""
    return padded(rows, cols, device, fill)[:, :cols]


def even_batches(n_samples: int, batch_size: int) -> list[int]:
    """Sizes of ceil(n_samples / batch_size) near-equal mini-batches, the larger first (as
    torch.tensor_split and scikit-learn's gen_even_slices cut them)."""
    n_batches = -(-n_samples // batch_size)
    quotient, remainder = divmod(n_samples, n_batches)
    return [quotient + 1] * remainder + [quotient] * (n_batches - remainder)


class Uniforms:
    """Fills float32 tensors with uniform draws in [0, 1), 24 random bits each (as torch.rand
    makes them). On CPU the bits come from NumPy's SFC64 generator, seeded once from `gen`:
    about twice as fast as torch's Mersenne twister, whose draws would otherwise be a fifth
    of an RBM's time per mini-batch on small data. On other devices: torch.rand on `gen`."""

    def __init__(self, gen: torch.Generator, device: torch.device):
        self.gen = gen
        seed = int(torch.randint(2**62, (1,), generator=gen, device=gen.device))
        self.bits = np.random.SFC64(seed) if device.type == "cpu" else None

    def fill_(self, out: torch.Tensor) -> None:
        """Overwrite the contiguous float32 tensor `out` with draws."""
        if self.bits is None:
            out.uniform_(generator=self.gen)
            return
        raw = torch.from_numpy(self.bits.random_raw(-(-out.numel() // 2)).view(np.int32))[: out.numel()]
        out.view(-1).copy_(raw.bitwise_and_(0xFFFFFF)).mul_(2.0**-24)


def _views(tensor: torch.Tensor, needed: bool):
    """The slices tensor[i] (a tuple), or None for every i when not `needed`."""
    return tensor.unbind(0) if needed else itertools.repeat(None)


class ContrastiveDivergence:
    """CD-k or PCD-k (as `rbm.persistent`) on `data` (n_samples, n_features) with the
    hyper-parameters of `rbm` (an axon.classic.rbm.RBM), updating `theta`
    (n_components + 1, n_features + 1) in place; `gen` gives every random draw.
    `chain` (n_neg, n_components) holds the negative hidden samples: the persistent chains
    under PCD (batch_size of them); under CD one per row of the last mini-batch, padding
    included (`last_chains` leaves it out)."""

    def __init__(self, rbm, theta: torch.Tensor, data: torch.Tensor, gen: torch.Generator):
        self.rbm, self.theta, self.gen = rbm, theta, gen
        self.uniforms = Uniforms(gen, data.device)
        n_samples, n_features = data.shape
        n_hidden, device = rbm.n_components, data.device
        sizes = even_batches(n_samples, rbm.batch_size)
        n_neg = rbm.batch_size if rbm.persistent else max(sizes)
        rows = n_neg + max(sizes)
        self.n_samples, self.n_neg, self.n_features = n_samples, n_neg, n_features
        self.to_hidden, self.to_visible = theta[:n_hidden].T, theta[:, :n_features]
        self.velocity = aligned(*theta.shape, device) if rbm.momentum or rbm.initial_momentum else None
        self.target = theta if self.velocity is None else self.velocity  # what each update is added to
        self.weights, self.target_weights, self.target_hidden = theta[:n_hidden, :n_features], \
            self.target[:n_hidden, :n_features], self.target[:n_hidden]
        self.bernoulli = rbm.visible == "bernoulli"

        self.batches = self._lay_out(data, sizes, n_neg)

        self.hidden = aligned(rows, n_hidden + 1, device, 1.0)  # hidden probabilities and the bias unit
        self.h_all, self.h_neg, self.h_pos = self.hidden[:, :n_hidden], self.hidden[:n_neg, :n_hidden], \
            self.hidden[n_neg:, :n_hidden]
        self.scaled = aligned(rows, n_hidden + 1, device)  # G
        self.scaled_T = self.scaled.T
        self.chain_ext = aligned(n_neg, n_hidden + 1, device, 1.0)
        self.chain = self.chain_ext[:, :n_hidden]
        self.chain.zero_()
        self.last_chains = n_neg if rbm.persistent else sizes[-1]
        self.activity = torch.full((n_hidden,), float(rbm.sparsity_target or 0.0), device=device)

        h_draws = rbm.k + (0 if rbm.persistent else 1)
        per_batch = rbm.k * n_neg * n_features + h_draws * n_neg * n_hidden
        self.chunk = max(1, min(len(sizes), NOISE_BYTES // (4 * per_batch)))
        self.visible_noise = torch.empty(rbm.k, self.chunk, n_neg, n_features, device=device)
        self.hidden_noise = torch.empty(h_draws, self.chunk, n_neg, n_hidden, device=device)
        # [step][i]: the draws of step `step` for the i-th mini-batch of a chunk
        self.visible_draws = [step.unbind(0) for step in self.visible_noise]
        self.hidden_draws = [step.unbind(0) for step in self.hidden_noise]

    def _lay_out(self, data: torch.Tensor, sizes: list[int], n_neg: int) -> list[tuple]:
        """Allocate the epoch buffer (see the module docstring) and return, per mini-batch:
        its block V, its negative visible units, the scale of each row of V (rows, 1), and
        where needed (else None) its negative rows, its data rows, the weights (width,) of
        the mean over its data rows."""
        rbm, device = self.rbm, data.device
        n_samples, n_features = data.shape
        width = max(sizes)
        # the data with the bias unit, plus a padding row (zeros, bias 1) at index n_samples;
        # this and the epoch buffer are kept whole (padding columns included): copying whole
        # rows between them is one fast contiguous gather
        self.source = padded(n_samples + 1, n_features + 1, device, 1.0)
        self.source[:n_samples, :n_features] = data
        self.source[n_samples, :n_features] = 0.0
        self.order = torch.arange(n_samples + 1, device=device)  # position in the epoch -> sample
        # slot j of mini-batch i -> a position (n_samples, the padding row, past the batch's end)
        batch, slot = torch.arange(len(sizes), device=device)[:, None], torch.arange(width, device=device)
        size = torch.tensor(sizes, device=device)[:, None]
        start = batch * sizes[-1] + batch.clamp(max=len(sizes) - sizes.count(sizes[-1]))
        self.slots = torch.where(slot < size, start + slot, n_samples).flatten()
        self.buffer = padded(n_neg + len(sizes) * width, n_features + 1, device, 1.0)
        row = self.buffer.stride(0)
        blocks = self.buffer.as_strided((len(sizes), n_neg + width, n_features + 1), (width * row, row, 1))
        scales, means = {}, {}  # by mini-batch size
        for n in set(sizes):
            real = torch.arange(width, device=device) < n
            pos_scale = torch.where(real, rbm.learning_rate / n, 0.0)
            neg_scale = torch.full((n_neg,), -rbm.learning_rate / n_neg, device=device) if rbm.persistent else -pos_scale
            scales[n], means[n] = torch.cat([neg_scale, pos_scale])[:, None], torch.where(real, 1.0 / n, 0.0)
        sparse, cd = rbm.sparsity_target is not None, not rbm.persistent
        return list(zip(blocks.unbind(0), blocks[:, :n_neg, :n_features].unbind(0), [scales[n] for n in sizes],
                        _views(blocks[:, :n_neg], cd or rbm.k > 1), _views(blocks[:, n_neg:], cd or sparse),
                        [means[n] for n in sizes] if sparse else itertools.repeat(None)))

    @torch.inference_mode()  # no autograd bookkeeping: a few per cent of the time on small data
    def epoch(self, momentum: float) -> None:
        """One pass over the data in mini-batches, with this momentum."""
        if self.rbm.shuffle:
            self.order[: self.n_samples] = torch.randperm(self.n_samples, generator=self.gen, device=self.order.device)
        torch.index_select(self.source, 0, self.order[self.slots], out=self.buffer[self.n_neg:])
        for i, batch in enumerate(self.batches):
            slot = i % self.chunk
            if slot == 0:
                self._draw()
            self._update(batch, slot, momentum)

    def _draw(self) -> None:
        """Fill the noise buffers for the next `chunk` mini-batches."""
        if self.bernoulli:
            self.uniforms.fill_(self.visible_noise)
        else:
            self.visible_noise.normal_(generator=self.gen)
        self.uniforms.fill_(self.hidden_noise)

    def _sample_hidden(self, v: torch.Tensor, probs: torch.Tensor, sampled: torch.Tensor, draws: torch.Tensor) -> None:
        """probs <- p(h = 1 | v) for the rows v (n, n_features + 1); chain <- a sample of
        the rows `sampled` (n_neg, n_hidden) of probs."""
        torch.mm(v, self.to_hidden, out=probs)
        probs.sigmoid_()
        torch.gt(sampled, draws, out=self.chain)

    def _update(self, batch, slot: int, momentum: float) -> None:
        """One CD-k / PCD-k step on a mini-batch, with the draws at `slot` of the chunk (see
        the module docstring): update = learning_rate * (<h v^T>_data - <h v^T>_model) minus
        the weight decay (on W) and the sparsity penalty (on W and c); with momentum
        velocity <- momentum * velocity + update and theta += velocity, else theta += update."""
        rbm, visible_draws, hidden_draws = self.rbm, self.visible_draws, self.hidden_draws
        block, v_neg, scale, neg_rows, pos_rows, mean = batch
        if not rbm.persistent:
            self._sample_hidden(pos_rows, self.h_pos, self.h_pos, hidden_draws[-1][slot])
        for step in range(rbm.k):
            torch.mm(self.chain_ext, self.to_visible, out=v_neg)
            if self.bernoulli:
                v_neg.sigmoid_()
                torch.gt(v_neg, visible_draws[step][slot], out=v_neg)
            else:
                v_neg.add_(visible_draws[step][slot])
            if rbm.persistent and step == rbm.k - 1:  # the data's hidden units join the last step
                self._sample_hidden(block, self.h_all, self.h_neg, hidden_draws[step][slot])
            else:
                self._sample_hidden(neg_rows, self.h_neg, self.h_neg, hidden_draws[step][slot])
        torch.mul(self.hidden, scale, out=self.scaled)
        self.target.addmm_(self.scaled_T, block, beta=momentum if self.velocity is not None else 1.0)
        if rbm.weight_decay:
            self.target_weights.add_(self.weights, alpha=-rbm.learning_rate * rbm.weight_decay)
        if rbm.sparsity_target is not None:
            self.activity.mul_(rbm.sparsity_decay).add_(mean @ self.h_pos, alpha=1 - rbm.sparsity_decay)
            penalty = rbm.sparsity_cost * (self.activity - rbm.sparsity_target)
            # W and c (the bias unit's mean is 1)
            self.target_hidden.addr_(penalty, mean @ pos_rows, alpha=-rbm.learning_rate)
        if self.velocity is not None:
            self.theta.add_(self.velocity)
