"""`python -m train.data.movies`: see train.data.movies.pipeline."""

import sys

from train.data.movies.pipeline import main

sys.exit(main())
