"""``offloading``: semantic transmission and early exit for intelligent task
offloading in multi-BS MEC systems (Zheng, Zhang, Mu, Liu, Huang).

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("offloading", seed=2, terminals=3, base_stations=2, subcarriers=3)
>>> sorted(semalloc.get_problem("offloading").algorithms)
['bcd', 'best', 'exact', 'fa', 'ftm', 'linear', 'raw', 'uc']
>>> r = semalloc.solve(inst, "exact")
>>> r.status, r.objective >= semalloc.solve(inst, "bcd").objective
('optimal', True)
"""
from ...solve import Problem
from .algorithms import register
from .evaluate import evaluate, parse_variables
from .instance import OffloadingInstance, generate

PROBLEM = Problem(
    key="offloading", sense="max", instance_type=OffloadingInstance, evaluate=evaluate,
    generate=generate, parse_variables=parse_variables, proposed="bcd",
    sizes={"U": "terminals", "K": "base_stations", "N": "subcarriers", "I": "tasks"},
    summary="Zheng et al.: association, subcarriers, semantic mode and edge CPU in multi-BS MEC with early exit",
)
register(PROBLEM)
