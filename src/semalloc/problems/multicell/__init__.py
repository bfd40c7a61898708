"""``multicell``: joint user association and resource allocation for multi-cell
networks with adaptive semantic communication (He, You, Quek).

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("multicell", seed=3, devices=10, base_stations=3)
>>> sorted(semalloc.get_problem("multicell").algorithms)
['arb', 'best', 'exact', 'fan', 'fsc', 'nua', 'prop', 'tc']
>>> r = semalloc.solve(inst, "exact")
>>> r.status
'optimal'
"""
from ...solve import Problem
from .algorithms import register
from .evaluate import evaluate, parse_variables
from .instance import MulticellInstance, generate

PROBLEM = Problem(
    key="multicell", sense="max", instance_type=MulticellInstance, evaluate=evaluate,
    generate=generate, parse_variables=parse_variables, proposed="prop",
    sizes={"N": "devices", "M": "base_stations", "A": "applications"},
    summary="He et al.: association, RBs, CPU, power and semantic workloads in a multi-cell network",
)
register(PROBLEM)
