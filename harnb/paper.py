"""The paper's published numbers (Presotto, Ek et al., SmartComp 2023), as tidy tables.

Every chapter prints the paper's value beside ours, so the values live here once, typed in from
the paper (Tables I–VII, Fig. 1) and checked against its AVG rows by a test.
"""

from __future__ import annotations

import pandas as pd

PAPER_DATASETS = ("HHAR", "MobiAct", "MotionSense", "RealWorld", "UCI", "PAMAP2")
RATIOS = (0, 1, 5, 10, 70)
STRATEGIES = ("Rd", "P_F", "P_U")

#: Table I as printed: samples, users, rate, position.
TABLE_I: dict[str, dict[str, object]] = {
    "HHAR": {"samples": 85567, "users": 9, "rate": "50–200 Hz", "position": "Waist (phones)"},
    "MobiAct": {"samples": 18634, "users": 61, "rate": "50–200 Hz", "position": "Waist"},
    "MotionSense": {"samples": 17231, "users": 24, "rate": "50 Hz", "position": "Waist"},
    "RealWorld": {"samples": 356427, "users": 15, "rate": "50 Hz", "position": "7 positions"},
    "UCI": {"samples": 10299, "users": 30, "rate": "50 Hz", "position": "Waist"},
    "PAMAP2": {"samples": 15177, "users": 8, "rate": "100 Hz", "position": "Waist, Chest, Wrist"},
}

#: Table II: fine-tuning windows per ratio (1, 5, 10, 70 %).
TABLE_II: dict[str, tuple[int, int, int, int]] = {
    "HHAR": (733, 3680, 7366, 51581),
    "MobiAct": (385, 1987, 3991, 28028),
    "MotionSense": (153, 1067, 2148, 15092),
    "RealWorld": (520, 2634, 5274, 36953),
    "UCI": (180, 506, 1026, 7241),
    "PAMAP2": (148, 751, 1504, 10545),
}

#: Fig. 1: macro-F1 of ISPL trained on 70 % of row dataset, tested on 30 % of column dataset.
FIG_1: dict[str, tuple[float, ...]] = {
    "HHAR": (0.95, 0.02, 0.14, 0.04, 0.06, 0.04),
    "MobiAct": (0.07, 0.89, 0.09, 0.35, 0.23, 0.08),
    "MotionSense": (0.07, 0.07, 0.98, 0.19, 0.18, 0.09),
    "RealWorld": (0.03, 0.06, 0.05, 0.91, 0.34, 0.17),
    "UCI": (0.03, 0.03, 0.00, 0.39, 0.97, 0.19),
    "PAMAP2": (0.02, 0.03, 0.04, 0.15, 0.21, 0.75),
}

#: Table VI: parameters and forward FLOPs (HART and MobileHART rows are 6-class heads).
TABLE_VI: dict[str, tuple[int, int]] = {
    "ispl": (1327714, 338528096),
    "deepconvlstm": (457546, 86184508),
    "hart": (1445918, 15212636),
    "mobilehart": (2542942, 19809292),
}

# fmt: off
# Tables III, IV, V, VII: 13 columns = 0 % P_U, then (Rd, P_F, P_U) for 1, 5, 10, 70 %.
_LODO: dict[str, dict[str, tuple[float, ...]]] = {
    "ispl": {  # Table III
        "HHAR": (9.00, 80.59, 83.33, 86.12, 91.26, 92.04, 92.39, 93.24, 93.25, 94.20, 95.70, 95.28, 95.34),
        "MobiAct": (6.67, 57.46, 59.09, 57.83, 85.50, 83.67, 83.98, 87.68, 88.09, 88.28, 89.63, 90.32, 88.53),
        "MotionSense": (12.67, 83.46, 83.25, 84.14, 95.34, 95.9, 95.58, 96.78, 96.73, 97.36, 98.06, 98.13, 98.07),
        "RealWorld": (21.26, 81.98, 85.25, 85.90, 87.05, 88.17, 88.35, 88.15, 89.72, 88.99, 91.02, 91.31, 91.11),
        "UCI": (27.41, 76.06, 86.86, 87.13, 91.14, 94.20, 94.08, 92.58, 95.81, 95.42, 97.45, 98.14, 97.76),
        "PAMAP2": (19.61, 54.99, 58.76, 64.07, 72.67, 72.55, 71.73, 76.21, 74.64, 74.21, 74.09, 74.16, 74.17),
        "AVG": (16.10, 72.42, 76.09, 77.53, 87.16, 87.76, 87.69, 89.11, 89.71, 89.74, 90.99, 91.22, 90.83),
    },
    "hart": {  # Table IV
        "HHAR": (8.11, 65.28, 64.72, 66.55, 83.48, 83.69, 84.66, 89.82, 88.16, 89.42, 93.30, 92.75, 93.86),
        "MobiAct": (7.81, 43.70, 50.56, 67.99, 77.69, 80.40, 80.05, 83.16, 82.86, 83.78, 87.67, 87.57, 87.33),
        "MotionSense": (14.04, 70.91, 74.23, 87.93, 91.66, 92.80, 93.17, 93.56, 94.88, 95.49, 97.45, 97.92, 97.84),
        "RealWorld": (32.68, 77.08, 75.38, 85.75, 85.83, 87.74, 87.89, 87.45, 88.99, 89.33, 91.30, 91.81, 91.64),
        "UCI": (26.69, 61.00, 70.22, 84.46, 88.83, 79.82, 93.27, 90.20, 95.32, 95.06, 96.40, 96.70, 96.74),
        "PAMAP2": (15.39, 49.17, 57.82, 56.31, 63.04, 64.82, 64.62, 64.42, 66.82, 66.16, 69.10, 68.13, 67.91),
        "AVG": (17.45, 61.19, 65.49, 74.83, 81.76, 81.55, 83.94, 84.77, 86.17, 86.54, 89.20, 89.15, 89.22),
    },
    "mobilehart": {  # Table V
        "HHAR": (6.27, 78.02, 60.18, 71.03, 92.76, 91.26, 92.05, 94.9, 93.99, 94.06, 97.31, 97.07, 96.63),
        "MobiAct": (6.84, 47.05, 44.42, 53.50, 82.47, 75.38, 80.93, 86.53, 84.29, 85.29, 89.19, 89.22, 90.18),
        "MotionSense": (16.26, 10.92, 68.34, 85.92, 92.39, 92.18, 93.06, 95.85, 96.44, 96.89, 98.26, 97.82, 98.16),
        "RealWorld": (33.52, 66.97, 83.61, 84.99, 85.23, 87.42, 87.60, 88.64, 89.21, 89.18, 91.30, 91.26, 91.13),
        "UCI": (20.65, 13.44, 67.25, 84.65, 88.64, 92.46, 94.18, 90.76, 92.95, 95.17, 97.44, 97.40, 98.24),
        "PAMAP2": (12.58, 4.25, 55.7, 58.53, 60.03, 65.73, 68.48, 65.01, 67.70, 70.34, 71.10, 71.89, 73.98),
        "AVG": (16.02, 36.78, 63.25, 73.10, 83.59, 84.07, 86.05, 86.95, 87.43, 88.49, 90.77, 90.78, 91.39),
    },
    "deepconvlstm": {  # Table VII
        "HHAR": (5.58, 80.37, 60.00, 66.26, 83.28, 79.03, 82.12, 86.15, 87.71, 89.42, 88.48, 94.04, 94.87),
        "MobiAct": (6.55, 51.94, 28.21, 42.14, 85.46, 72.38, 77.71, 85.46, 79.79, 81.11, 88.72, 87.47, 87.62),
        "MotionSense": (14.71, 87.67, 42.67, 67.54, 95.60, 76.6, 91.64, 96.71, 94.60, 95.26, 98.17, 98.01, 98.20),
        "RealWorld": (28.07, 84.64, 66.93, 77.39, 88.13, 86.22, 87.62, 89.50, 89.48, 89.39, 91.28, 91.28, 91.52),
        "UCI": (37.13, 68.88, 64.65, 79.43, 89.81, 76.81, 91.05, 92.29, 93.3, 95.52, 97.53, 96.50, 97.20),
        "PAMAP2": (20.16, 55.47, 47.81, 52.35, 68.69, 63.54, 64.56, 66.36, 66.93, 67.21, 71.84, 68.95, 68.91),
        "AVG": (18.70, 71.50, 51.71, 64.19, 85.16, 75.76, 82.45, 86.08, 85.30, 86.32, 89.34, 89.38, 89.72),
    },
}

# fmt: on

TABLE_NUMBER = {"ispl": "III", "hart": "IV", "mobilehart": "V", "deepconvlstm": "VII"}

#: The 13 (ratio, strategy) columns of the LODO tables; 0 % is the pre-trained model as is.
LODO_COLUMNS: tuple[tuple[int, str], ...] = ((0, "P_0"),) + tuple(
    (r, s) for r in (1, 5, 10, 70) for s in STRATEGIES
)


def lodo_table(model: str) -> pd.DataFrame:
    """The paper's LODO table for ``model``: rows targets (+AVG), MultiIndex columns (ratio, strategy).

    The 0 % column is labelled ``P_0`` here (the paper calls it P_U: the pre-trained model, untuned).
    """
    if model not in _LODO:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(_LODO)}")
    cols = pd.MultiIndex.from_tuples(LODO_COLUMNS, names=["ratio", "strategy"])
    return pd.DataFrame.from_dict(_LODO[model], orient="index", columns=cols)


def lodo_tidy() -> pd.DataFrame:
    """All four LODO tables as tidy rows: model, target, ratio, strategy, f1 (×100)."""
    rows = [
        {"model": m, "target": t, "ratio": r, "strategy": s, "f1": v}
        for m, table in _LODO.items()
        for t, vals in table.items()
        if t != "AVG"
        for (r, s), v in zip(LODO_COLUMNS, vals, strict=True)
    ]
    return pd.DataFrame(rows)


def fig1_matrix() -> pd.DataFrame:
    """Fig. 1 as a DataFrame: rows training dataset, columns test dataset, macro-F1 in [0, 1]."""
    return pd.DataFrame.from_dict(FIG_1, orient="index", columns=list(PAPER_DATASETS))


def table_ii() -> pd.DataFrame:
    """Table II: fine-tuning windows per ratio."""
    return pd.DataFrame.from_dict(TABLE_II, orient="index", columns=[1, 5, 10, 70])
