"""The built-in tier schemes: points earned, amount spent, orders, lifetime points."""
