"""Differential privacy: DP-SGD over LoRA (Opacus), the plan, accounting, budgets, site level."""
