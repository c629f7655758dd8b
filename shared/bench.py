"""`make bench`: speed goals measured side by side in one run, printed as ratios.

Timed assertions do not belong in the test suite (shared machines are noisy); this is
where the figures are measured and compared.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from shared.training.bench_scorer import run as bench_scorer

    scorer = bench_scorer()
    print("Isolation-forest scoring: scikit-learn vs the serving scorer (numpy)")
    print(f"  trees={scorer['n_estimators']} features={scorer['n_features']}")
    print(f"  max |score difference| = {scorer['max_abs_diff']:.3g}")
    for label in [k for k in scorer if k.endswith("_row") or k.endswith("_rows")]:
        row = scorer[label]
        print(
            f"  {label:>12}: sklearn {row['sklearn_ms']:9.3f} ms   numpy {row['numpy_ms']:9.3f} ms"
            f"   ratio {row['speedup']:7.2f}x"
        )
    print(json.dumps({"scorer": scorer}, indent=None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
