"""semalloc: resource allocation for semantic communication networks.

>>> import semalloc
>>> inst = semalloc.generate("multicell", seed=3, devices=10)
>>> res = semalloc.solve(inst, algorithm="prop")
>>> res.status
'feasible'
"""
from .errors import InputError
from .result import Evaluation, Result
from .solve import evaluate, generate, get_problem, list_problems, load, load_solution, save, solve

__all__ = ["solve", "evaluate", "generate", "load", "load_solution", "save", "list_problems",
           "get_problem", "Result", "Evaluation", "InputError"]
__version__ = "0.1.0"
