"""Run-time support shared by the expression evaluator and the engine."""
