"""Part I: word embeddings (skip-gram, CBOW, negative sampling). Import the modules directly."""
