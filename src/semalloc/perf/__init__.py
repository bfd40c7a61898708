"""Semantic performance models: task accuracy as a function of the resources spent."""
from .workload import accuracy_cd, utility_of_accuracy

__all__ = ["accuracy_cd", "utility_of_accuracy"]
