"""Errors shared by the search spaces."""


class RuleViolation(ValueError):
    """An architecture outside its space; ``rule`` names the broken rule.

    Args:
        rule: short rule name (shown in brackets at the start of the message).
        message: what is wrong and where.
    """

    def __init__(self, rule: str, message: str):
        super().__init__(f'[{rule}] {message}')
        self.rule = rule
