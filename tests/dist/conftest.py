import sys
from pathlib import Path

# The launched processes import their bodies from dist_workers.py by module name.
sys.path.insert(0, str(Path(__file__).parent))
