"""Generic solver pieces shared by the problems, each written once.

- :mod:`.scalar`: vectorised golden-section maximisation and bisection;
- :mod:`.allocation`: integer units over utility tables (greedy marginal, DP knapsack, even split);
- :mod:`.mckp`: multiple-choice multi-knapsack as a HiGHS MILP and its LP relaxation;
- :mod:`.bnb`: branch and bound with LP bounds for 0-1 linear programs;
- :mod:`.fractional`: sum-of-ratios minimisation (Jong's modified Newton method);
- :mod:`.logsplit`: a budget split minimising a sum of log delays;
- :mod:`.matching`: swap matching with externalities;
- :mod:`.price`: the price search of a shared budget (dual decomposition);
- :mod:`.resplit`: a budget's split improved pairwise (two shares re-split on a grid at a time);
- :mod:`.convex`: CVXPY solves whose inaccurate answers are counted, not printed.
"""
