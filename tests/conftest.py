import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# AppTest does not put the app's folder on sys.path; pages import attnrec from here.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
