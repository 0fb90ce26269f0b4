"""`python -m o1coder.lsp [--tcp [HOST:]PORT] [--log-level LEVEL]`: the same as `o1coder serve`."""

import argparse
import sys

from o1coder.commands import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m o1coder.lsp", description=serve.DESCRIPTION)
    serve.add_arguments(parser)
    return serve.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
