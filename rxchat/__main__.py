import sys

from rxchat.cli import main

sys.exit(main())
