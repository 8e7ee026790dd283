r"""BERT's masked-language-model corruption: choose 15% of the tokens, then split the chosen set 80/10/10.

For a sequence with eligible positions $E$ (real tokens that are not ``[CLS]``, ``[SEP]``,
``[PAD]`` or another special token), BERT (Devlin et al. 2019, and its ``create_pretraining_data.py``)
chooses a set $M \subset E$ of $|M| = \max(1, \mathrm{round}(p\,|E|))$ positions uniformly at
random ($p = 0.15$), and then, **for each chosen position separately**, one action:

$$\tilde x_i = \begin{cases}\texttt{[MASK]} & \text{with probability } 0.8\\
w \sim \mathrm{Uniform}(V \setminus \text{specials}) & \text{with probability } 0.1\\
x_i & \text{with probability } 0.1\end{cases}\qquad i \in M,$$

and $\tilde x_i = x_i$ for $i \notin M$. The label is $y_i = x_i$ for $i \in M$ and ``-100``
(ignored by the loss) everywhere else, including the 10% left unchanged: the model must predict
them too, without knowing which they are.

The order matters. Drawing *chosen*, *mask* and *random* as three independent Bernoulli masks
over all tokens and combining them (as labml's implementation does) does not give 80/10/10 of the
chosen set: a token that is both "mask" and "random" is counted once, and the shares come out
near 81/10/9. Here one uniform number $u_i$ per chosen position decides its action
($u < 0.8$: mask; $0.8 \le u < 0.9$: random; else keep), so the three shares are exactly
0.8, 0.1 and 0.1 in expectation, and a chi-square test over $10^5$ tokens passes
(``tests/test_pretrain_masking.py``).

Shapes: ``input_ids`` ``(B, T)`` int64, ``attention_mask`` ``(B, T)`` bool (True = real token).
Returns :class:`Masked`: ``input_ids`` ``(B, T)`` (corrupted copy), ``labels`` ``(B, T)``
(``-100`` except at $M$), ``action`` ``(B, T)`` int64 (0 = not chosen, 1 = ``[MASK]``,
2 = random token, 3 = unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validate import (InputError, check_ids, check_mask, check_number, check_tensor, check_type)

__all__ = ["IGNORE_INDEX", "NOT_CHOSEN", "MASKED", "RANDOM", "KEPT", "Masked", "mask_tokens"]

#: The label of a position the MLM loss ignores (``F.cross_entropy``'s default ``ignore_index``).
IGNORE_INDEX = -100
NOT_CHOSEN, MASKED, RANDOM, KEPT = 0, 1, 2, 3


@dataclass
class Masked:
    """The corrupted ids, the MLM labels and what happened at each position."""

    input_ids: torch.Tensor   # (B, T) the model's input
    labels: torch.Tensor      # (B, T) original id at chosen positions, -100 elsewhere
    action: torch.Tensor      # (B, T) NOT_CHOSEN / MASKED / RANDOM / KEPT


def _eligible_positions(input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                       special_ids: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` bool: a real token (mask True) whose id is not special. Unchecked."""
    eligible = ~torch.isin(input_ids, special_ids)
    if attention_mask is not None:
        eligible &= attention_mask
    return eligible


def mask_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, *, vocab_size: int, mask_id: int,
                special_ids, rate: float = 0.15, mask_share: float = 0.8, random_share: float = 0.1,
                generator: torch.Generator | None = None, check: bool = True) -> Masked:
    r"""Choose $\max(1, \mathrm{round}(\text{rate}\cdot|E|))$ eligible positions per row, then split them.

    ``special_ids``: the ids never chosen and never drawn as a random replacement (``[PAD]``,
    ``[CLS]``, ``[SEP]``, ``[MASK]``, ``[UNK]``...), a sequence of ints. A row without eligible
    positions gets none. ``generator`` (on ``input_ids``' device) makes the draw reproducible.
    ``mask_share`` and ``random_share`` are the shares of the chosen set that become ``[MASK]`` and
    a random token; the rest (``1 - mask_share - random_share``) stays unchanged.
    """
    if check:
        dims: dict = {}
        check_number("vocab_size", vocab_size, low=2, integer=True, what="an int >= 2")
        check_ids("input_ids", input_ids, vocab_size, ("B", "T"), dims=dims, vocab_from="vocab_size")
        if attention_mask is not None:
            check_mask("attention_mask", attention_mask, ("B", "T"), dims=dims)
            check_tensor("attention_mask", attention_mask, device=input_ids.device)
        check_number("mask_id", mask_id, low=0, high=vocab_size - 1, integer=True,
                     what=f"an id in 0..{vocab_size - 1} (vocab_size {vocab_size})")
        check_type("special_ids", special_ids, (list, tuple, set, frozenset), "a list of ids")
        for s in special_ids:
            check_number("special_ids", s, low=0, high=vocab_size - 1, integer=True,
                         what=f"ids in 0..{vocab_size - 1} (vocab_size {vocab_size})")
        if mask_id not in set(special_ids):
            raise InputError(f"special_ids must contain mask_id ({mask_id}): [MASK] is never a target")
        if len(set(special_ids)) >= vocab_size:
            raise InputError(f"special_ids holds every id of the vocabulary (vocab_size {vocab_size}): "
                             "nothing is left to predict or to draw as a random token")
        check_number("rate", rate, low=0, high=1, low_open=True)
        check_number("mask_share", mask_share, low=0, high=1)
        check_number("random_share", random_share, low=0, high=1)
        if mask_share + random_share > 1 + 1e-12:
            raise InputError(f"mask_share + random_share must be <= 1, got {mask_share} + {random_share}")
        if generator is not None:
            check_type("generator", generator, torch.Generator)
            if generator.device != input_ids.device:
                raise InputError(f"generator is on {generator.device} but input_ids is on {input_ids.device}")
    device = input_ids.device
    special = torch.tensor(sorted(set(int(s) for s in special_ids)), device=device)
    eligible = _eligible_positions(input_ids, attention_mask, special)                  # (B, T)
    # 1. the chosen set M: per row, the n_b eligible positions with the smallest random scores
    n_eligible = eligible.sum(dim=1)                                                    # (B,)
    n_chosen = torch.where(n_eligible > 0, torch.clamp(torch.round(n_eligible * rate), min=1), 0)
    scores = torch.rand(input_ids.shape, generator=generator, device=device)
    scores = scores.masked_fill(~eligible, 2.0)                                         # never among the first n_b
    # the n_b-th smallest score of each row is the threshold (scores are distinct with probability 1)
    kth = scores.sort(dim=1).values.gather(1, (n_chosen - 1).clamp(min=0)[:, None].long())   # (B, 1)
    chosen = (scores <= kth) & (n_chosen[:, None] > 0) & eligible
    # 2. split M: one uniform number per position decides its action (only read where chosen)
    u = torch.rand(input_ids.shape, generator=generator, device=device)
    to_mask = chosen & (u < mask_share)
    to_random = chosen & (u >= mask_share) & (u < mask_share + random_share)
    # random replacements: uniform over the ids that are not special
    allowed = torch.ones(vocab_size, dtype=torch.bool, device=device)
    allowed[special] = False
    pool = torch.nonzero(allowed).flatten()                                             # (V - S,)
    draws = pool[torch.randint(len(pool), input_ids.shape, generator=generator, device=device)]
    corrupted = torch.where(to_mask, torch.full_like(input_ids, mask_id), input_ids)
    corrupted = torch.where(to_random, draws, corrupted)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    action = torch.zeros_like(input_ids)
    action[chosen] = KEPT
    action[to_random] = RANDOM
    action[to_mask] = MASKED
    return Masked(corrupted, labels, action)
