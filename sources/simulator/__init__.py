"""The simulated operational systems of customer-warehouse: the ground truth for tests and
benchmarks. `simulate()` writes landing/ (what seven systems deliver) and truth/ (who is who,
what revenue really was, which defects were injected) into a data directory."""

from simulator.world import SimulationSummary, simulate

__all__ = ["SimulationSummary", "simulate"]
