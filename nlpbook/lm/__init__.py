"""Language-model utilities the chapters share: the character-level LM of Part II
(vocabulary, random training windows, held-out bits per character, a training helper)."""
from .char_lm import CharLM, CharVocab, LMRecord, evaluate, random_windows, split_ids, train_char_lm

__all__ = ["CharLM", "CharVocab", "LMRecord", "evaluate", "random_windows", "split_ids", "train_char_lm"]
