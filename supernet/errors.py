"""Errors of the search spaces: an architecture outside its space names the rule it breaks."""


class RuleViolation(ValueError):
    """An architecture outside its space; ``rule`` names the broken rule.

    Args:
        rule: short rule name (shown in brackets at the start of the message).
        message: what is wrong and where.
    """

    def __init__(self, rule: str, message: str):
        super().__init__(f'[{rule}] {message}')
        self.rule = rule

    @classmethod
    def raise_if_any(cls, subject, violations) -> None:
        """Raise ``cls`` naming the first of ``violations`` ((rule, message) pairs), with
        the others appended; do nothing when there are none."""
        if violations:
            rule, msg = violations[0]
            raise cls(rule, f'{subject}: {msg}' + ''.join(f'; [{r}] {m}' for r, m in violations[1:]))
