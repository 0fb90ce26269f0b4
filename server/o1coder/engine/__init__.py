"""The reasoning engine: problems, prompts, generated tests, pseudocode-first MCTS and baselines.

It talks to language models only through `o1coder.models.backend.Backend` and to the sandbox
only through a verifier callable; it imports nothing from the LSP server or training.
"""
