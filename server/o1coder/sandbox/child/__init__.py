"""Code that runs inside the sandbox child process.

`boot.py` is the script the parent (`o1coder.sandbox.runner`) starts; the parent sends it the
other modules of this folder as compiled code objects, so they import only the standard
library and never each other (`harness.main` receives them).
"""
