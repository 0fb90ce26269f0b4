"""o1-coder: pseudocode-first reasoning with MCTS over a local GGUF coder model."""

__version__ = "0.1.0"
