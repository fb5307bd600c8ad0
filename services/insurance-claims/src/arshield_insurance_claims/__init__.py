"""insurance-claims: trade credit insurance (policy, cover, deadlines, notifications, claims)."""
