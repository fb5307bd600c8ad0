"""The pure dunning domain: policies, per-buyer state, decide/evolve, letters. No I/O."""
