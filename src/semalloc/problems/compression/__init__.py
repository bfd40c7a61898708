"""``compression``: adaptable semantic compression, bandwidth, power and user
selection to maximise the weighted sum success probability of tasks (Liu,
Guo, Yang, Jiang).

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("compression", seed=1, users=3)
>>> sorted(semalloc.get_problem("compression").algorithms)
['best', 'crra', 'crraus', 'exact', 'fcr', 'fra', 'msr']
>>> r = semalloc.solve(inst, "fra")
>>> r.status, 0 < r.objective <= 3
('feasible', True)
"""
from ...solve import Problem
from .algorithms import register
from .evaluate import evaluate, parse_variables
from .instance import CompressionInstance, generate

PROBLEM = Problem(
    key="compression", sense="max", instance_type=CompressionInstance, evaluate=evaluate,
    generate=generate, parse_variables=parse_variables, proposed="crra",
    sizes={"U": "users", "L": "level_weights"},
    summary="Liu et al.: compression ratio, bandwidth, power and user selection for task success",
)
register(PROBLEM)
