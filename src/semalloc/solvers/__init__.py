"""Generic solver pieces shared by the problems, each written once.

- :mod:`.scalar`: vectorised golden-section maximisation and bisection;
- :mod:`.allocation`: integer resource allocation over utility tables
  (greedy marginal allocation, DP knapsack, even split);
- :mod:`.mckp`: multiple-choice multi-knapsack as a HiGHS MILP and its LP relaxation.
"""
