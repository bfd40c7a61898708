"""semalloc: resource allocation for semantic communication networks.

>>> import semalloc
>>> inst = semalloc.generate("multicell", seed=3, devices=10)
>>> res = semalloc.solve(inst, algorithm="prop")
>>> res.status
'feasible'
"""
from .errors import InputError
from .result import Evaluation, Result
from .solve import evaluate, generate, get_problem, load, load_solution, problems, save, solve

__all__ = ["solve", "evaluate", "generate", "load", "load_solution", "save", "problems",
           "get_problem", "Result", "Evaluation", "InputError"]
__version__ = "0.1.0"
