"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from typing import Any

from .adam import Adam


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay.

    **The course's form.** Weight decay regularises with ``L(w) + λ‖w‖²``. Added
    to the gradient (as ``Adam(weight_decay=…)`` does) the penalty's gradient is
    divided by ``√s_t`` like everything else, so weights with large gradients are
    barely decayed. AdamW instead shrinks the weights directly, outside the
    adaptive step::

        w ← w − η λ w − η v_t / (√s_t + ε)      (v_t, s_t: Adam's bias-corrected moments)

    **PyTorch's algorithm, which this class implements**: :class:`Adam`'s, with
    the decay applied to the weights before the moments are updated::

        w ← w (1 − lr · weight_decay)
        m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²     (g: the raw gradient)
        w ← w − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)

    The default ``weight_decay`` is 1e-2 (Adam's is 0). The other arguments are
    :class:`Adam`'s (``foreach``, ``capturable``, ``differentiable`` and ``fused`` are
    accepted and ignored).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0], requires_grad=True)
    >>> opt = stirpile.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 6)   # 1 · (1 − 0.05) − 0.1
    0.85
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad,
            foreach=foreach, maximize=maximize, capturable=capturable,
            differentiable=differentiable, fused=fused, decoupled_weight_decay=True,
        )  # fmt: skip

    def load_state_dict(self, state_dict: Any) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW always decouples, as in PyTorch
            group["decoupled_weight_decay"] = True
