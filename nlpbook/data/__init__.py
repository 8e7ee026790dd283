"""nlpbook.data: every dataset the book uses, read offline from installed packages.

English text (word2vec, language models), evaluation sets, pretrained vectors, parallel
sentences and labelled snippets. Processed data is cached under ``$NLPBOOK_DATA`` (default
``~/.cache/nlpbook``) with atomic writes and sha256 checks; a missing package raises
:class:`MissingDataError` with the command that installs it.
"""
from .cache import data_root
from .english import SOURCES, corpus_sources, english_sentences, english_text, source_sentences
from .evaluation import analogy_questions, simlex999, wordsim353
from .labelled import rotten_tomatoes
from .parallel import de_en_pairs, kjv_rv1909_pairs, kjv_web_pairs
from .pretrained import glove_50d, minilm_path
from .sources import MissingDataError
from .tokenize import split_sentences, word_tokenize
from .vocab import UnknownTokenError, Vocab

__all__ = [
    "MissingDataError", "SOURCES", "UnknownTokenError", "Vocab", "analogy_questions", "corpus_sources",
    "data_root", "de_en_pairs", "english_sentences", "english_text", "glove_50d", "kjv_rv1909_pairs",
    "kjv_web_pairs", "minilm_path", "rotten_tomatoes", "simlex999", "source_sentences",
    "split_sentences", "word_tokenize", "wordsim353",
]
