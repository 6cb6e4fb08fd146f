import sys

from videoanalysis.cli import main

sys.exit(main())
