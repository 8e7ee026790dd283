"""RNN vs CNN vs Transformer, measured: dependency structure, a dilated CNN, encoders, tasks, cost.

* :mod:`.dependency` -- which inputs an output depends on, and through how many operations.
* :mod:`.conv` -- a stacked causal 1-D CNN (with or without dilation) and its receptive field.
* :mod:`.encoders` -- a GRU and a Transformer encoder behind the same ``(B, T, D)`` interface,
  a token tagger around any of them, and widths matched to a parameter count.
* :mod:`.tasks` -- the synthetic tasks: copy the token ``d`` positions back; an n-gram lookup.
* :mod:`.cost` -- forward + backward throughput (tokens/s) and peak memory of a training step.
"""
