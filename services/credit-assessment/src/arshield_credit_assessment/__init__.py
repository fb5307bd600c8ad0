"""arshield credit-assessment: credit policy, limits, exposure, order checks, holds, contracts."""
