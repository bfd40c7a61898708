"""One package per paper's problem: ``instance``, ``evaluate``, ``algorithms``."""
