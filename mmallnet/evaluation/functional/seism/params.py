"""Parameters of the SEISM boundary protocol, as SEISM and BSDS set them.

Thresholds are those of SEISM ``parameters/HED.txt``; ``maxDist`` is a
fraction of the image diagonal (SEISM ``eval_method.m``); the NMS values
are the ``edgesNmsMex(E, O, r, s, m)`` arguments of ``read_one_cont_png``;
the matching costs are BSDS ``correspondPixels`` / ``match.cc``'s.
"""
import numpy as np

#: The 101 thresholds of SEISM ``parameters/HED.txt``.
SEISM_THRESHOLDS = np.concatenate([[0.001], np.arange(1, 100) / 100,
                                   [0.999]])
#: ``maxDist`` (fraction of the image diagonal) per benchmark, as in
#: SEISM's ``eval_method.m`` (NYUD added by Boundary-Detection-Evaluation-
#: Tools; 0.0075 is also SEISM's default).
MAX_DIST = {'nyud': 0.011, 'pascal_context': 0.0075}
#: Outlier cost of ``correspondPixels``, in units of ``maxDist``.
OUTLIER_COST = 100.0
#: BSDS ``match.cc`` scales distances by 100 and rounds to integers.
COST_SCALE = 100.0
#: ``read_one_cont_png``: convTri radius for the orientation, then
#: ``edgesNmsMex(E, O, r, s, m)``.
ORIENTATION_RADIUS = 4
NMS_RADIUS = 1
NMS_BORDER = 5
NMS_MULTIPLIER = 1.01

#: Keys of the per-image counts, in the order they are stacked.
COUNT_KEYS = ('cnt_r', 'sum_r', 'cnt_p', 'sum_p')
