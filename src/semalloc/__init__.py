"""semalloc: resource allocation for semantic communication networks.

>>> import semalloc
>>> inst = semalloc.generate("multicell", seed=3, devices=10)
>>> res = semalloc.solve(inst, algorithm="prop")
>>> res.status
'feasible'

Your own algorithm: :func:`register_algorithm` (returning an
:class:`Allocation`), your own problem: :func:`register_problem`; see
docs/plugins.md and :mod:`semalloc.plugins`.
"""
from .errors import InputError
from .result import Evaluation, Result
from .solve import (
                    Allocation,
                    Problem,
                    evaluate,
                    generate,
                    get_problem,
                    list_problems,
                    load,
                    load_solution,
                    register_algorithm,
                    register_problem,
                    save,
                    solve,
)

__all__ = ["solve", "evaluate", "generate", "load", "load_solution", "save", "list_problems",
           "get_problem", "Result", "Evaluation", "InputError",
           "register_algorithm", "register_problem", "Allocation", "Problem"]
__version__ = "0.1.0"
