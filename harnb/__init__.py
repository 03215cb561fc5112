"""harnb: combine public HAR datasets, pre-train on their union, evaluate Leave-One-Dataset-Out.

The package holds every computation of the book; notebooks only call it.
"""

__version__ = "0.1.0"
