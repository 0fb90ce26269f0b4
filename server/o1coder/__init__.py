"""o1-coder: pseudocode-first reasoning with MCTS over a local GGUF coder model."""

# The project's version, written only here: pyproject.toml reads it (dynamic version), the
# training package re-uses it and the VS Code extension's package.json is kept equal to it by
# editor-clients/vscode/scripts/sync_settings.py.
__version__ = "0.1.0"
