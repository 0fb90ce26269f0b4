"""The o1coder language server (pygls 2): `o1coder serve`, or `python -m o1coder.lsp`."""
