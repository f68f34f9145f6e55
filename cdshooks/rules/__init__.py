"""Clinical rules, one small function each, grouped by topic.

Importing this package registers every rule; each has its card in `cards/<id>.yaml`.
"""

from cdshooks.rules import breast, melanoma, merkel_net, palliative, skin, transplant  # noqa: F401  (registers rules)
from cdshooks.rules.registry import RULES, Finding, Rule, rules_for

__all__ = ["RULES", "Finding", "Rule", "rules_for"]
