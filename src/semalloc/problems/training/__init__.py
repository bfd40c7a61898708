"""``training``: resource allocation for training an image semantic
communication network (Li, Zhou, Zhao): power, bandwidth, device and BS CPU
and compression rate, trading round time against energy (P1, eq. 16).

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("training", seed=3, devices=8)
>>> sorted(semalloc.get_problem("training").algorithms)
['alg3_printed', 'alternating', 'average', 'best', 'exact', 'fhr_only', 'pb_only', 'random']
>>> r = semalloc.solve(inst, "alternating")
>>> r.status, r.objective < semalloc.solve(inst, "average").objective
('feasible', True)
"""
from ...solve import Problem
from .algorithms import register
from .evaluate import evaluate, parse_variables
from .instance import TrainingInstance, generate

PROBLEM = Problem(
    key="training", sense="min", instance_type=TrainingInstance, evaluate=evaluate,
    generate=generate, parse_variables=parse_variables, proposed="alternating",
    sizes={"N": "devices"},
    summary="Li et al.: power, bandwidth, device/BS CPU and compression rate for training deep JSCC transmitters",
)
register(PROBLEM)
