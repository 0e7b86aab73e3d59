"""Functional losses, torch-compatible, each with its gradient: ``f(input, target, ...)``
and ``f_grad(..., grad_output=None)`` = ∂loss/∂input.

One module per family:

- :mod:`~dlcourse.losses.elementwise` — ``mse_loss``, ``l1_loss``, ``huber_loss``,
  ``smooth_l1_loss``, ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``,
  ``kl_div``;
- :mod:`~dlcourse.losses.classification` — ``cross_entropy`` (logits), ``nll_loss``;
- :mod:`~dlcourse.losses.embedding` — ``cosine_embedding_loss``, ``hinge_embedding_loss``;
- :mod:`~dlcourse.losses.overlap` — ``dice_loss``, ``jaccard_loss``, ``focal_loss``
  (segmentation and detection; torch has no functional form of these);
- :mod:`~dlcourse.losses._utils` — input checks, reductions and their gradients.

These follow ``torch.nn.functional``: ``cross_entropy`` takes logits (and class indices or
probabilities). They are not the ``Network`` costs, ``Network(cost="cross_entropy")`` and the
others of :mod:`dlcourse.costs` (``COSTS``), which take the output activations ``a`` and
one-hot targets ``y`` and carry their δ^L (BP1); import those from there.
"""

from __future__ import annotations

from dlcourse.losses.classification import (
    cross_entropy,
    cross_entropy_grad,
    nll_loss,
    nll_loss_grad,
)
from dlcourse.losses.elementwise import (
    binary_cross_entropy,
    binary_cross_entropy_grad,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    huber_loss,
    huber_loss_grad,
    kl_div,
    kl_div_grad,
    l1_loss,
    l1_loss_grad,
    mse_loss,
    mse_loss_grad,
    smooth_l1_loss,
    smooth_l1_loss_grad,
)
from dlcourse.losses.embedding import (
    cosine_embedding_loss,
    cosine_embedding_loss_grad,
    hinge_embedding_loss,
    hinge_embedding_loss_grad,
)
from dlcourse.losses.overlap import (
    dice_loss,
    dice_loss_grad,
    focal_loss,
    focal_loss_grad,
    jaccard_loss,
    jaccard_loss_grad,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "cosine_embedding_loss",
    "cosine_embedding_loss_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "dice_loss",
    "dice_loss_grad",
    "focal_loss",
    "focal_loss_grad",
    "hinge_embedding_loss",
    "hinge_embedding_loss_grad",
    "huber_loss",
    "huber_loss_grad",
    "jaccard_loss",
    "jaccard_loss_grad",
    "kl_div",
    "kl_div_grad",
    "l1_loss",
    "l1_loss_grad",
    "mse_loss",
    "mse_loss_grad",
    "nll_loss",
    "nll_loss_grad",
    "smooth_l1_loss",
    "smooth_l1_loss_grad",
]
