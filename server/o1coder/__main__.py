import sys

from o1coder.cli import main

sys.exit(main())
