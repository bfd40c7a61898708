"""``sbq``: semantic-bit quantization, beamforming, subchannels and bandwidth in one
slot (Wang et al., arXiv 2312.01081; model reconstructed in wang-sbq-drl-notes.md).

Examples
--------
>>> import semalloc
>>> inst = semalloc.generate("sbq", seed=1)
>>> sorted(semalloc.get_problem("sbq").algorithms)  # doctest: +NORMALIZE_WHITESPACE
['best', 'dqn', 'drl', 'drl-local', 'drl-sampled', 'drl-zf', 'drl-zf-local', 'equal', 'exact', 'fixed-bits',
 'mapping', 'mapping-drl', 'mapping-equal', 'random', 'td3']
>>> semalloc.solve(inst, "best").status
'feasible'
"""
from ...solve import Problem
from .algorithms import register
from .evaluate import evaluate, parse_variables
from .instance import SBQInstance, episode, generate
from .mdp import carry

PROBLEM = Problem(
    key="sbq", sense="max", instance_type=SBQInstance, evaluate=evaluate,
    generate=generate, parse_variables=parse_variables, proposed="drl",
    sizes={"K": "users", "M": "subchannels", "Nt": "antennas"}, episode=episode, carry=carry,
    summary="Wang et al. (reconstructed): bits per semantic symbol, ZF beams, subchannels, bandwidth; effective SC-QoS",
)
register(PROBLEM)
