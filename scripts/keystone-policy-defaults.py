#!/usr/bin/env python3
"""Extract Keystone's default policy rules as JSON, for auth-server.

Usage:
    scripts/keystone-policy-defaults.py GIT_DIR [REV] > auth-server/src/policy/keystone_defaults.json

GIT_DIR is a Keystone git directory (bare or not), REV a commit (HEAD by
default). The script reads keystone/common/policies/*.py at that commit with
Python's `ast` module and evaluates only string constants, `+`, `%` and
names bound to such expressions (in the module or in `base`): it never
imports or runs Keystone's code. Each RuleDefault / DocumentedRuleDefault
becomes {"name", "check_str", "scope_types", "description"}, in the order
of keystone/common/policies/__init__.py's list_rules(), so the output is
Keystone's registered defaults with `enforce_new_defaults` on (the
deprecated check strings are not emitted).
"""

import ast
import json
import subprocess
import sys

POLICIES = 'keystone/common/policies'


def show(git_dir, rev, path):
    return subprocess.run(
        ['git', '-C', git_dir, 'show', f'{rev}:{path}'],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class Evaluator:
    """Evaluates the constant expressions Keystone's policy modules use."""

    def __init__(self, modules):
        self.modules = modules  # name -> {constant name -> value}

    def eval(self, node, scope):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            raise LookupError(f'unknown name {node.id}')
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = self.modules.get(node.value.id)
            if module is not None and node.attr in module:
                return module[node.attr]
            raise LookupError(f'unknown name {node.value.id}.{node.attr}')
        if isinstance(node, ast.BinOp):
            left = self.eval(node.left, scope)
            right = self.eval(node.right, scope)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                return left % right
            raise LookupError('unsupported operator')
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.eval(e, scope) for e in node.elts]
        raise LookupError(f'unsupported expression {ast.dump(node)[:60]}')


def module_constants(tree, evaluator):
    """Module-level NAME = <constant expression> bindings."""
    scope = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                try:
                    scope[target.id] = evaluator.eval(stmt.value, scope)
                except LookupError:
                    pass
    return scope


def rule_calls(tree):
    """Every policy.RuleDefault(...) / policy.DocumentedRuleDefault(...)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ('RuleDefault', 'DocumentedRuleDefault')
        ):
            yield node


def module_order(git_dir, rev):
    """Module names in the order __init__.list_rules() chains them."""
    tree = ast.parse(show(git_dir, rev, f'{POLICIES}/__init__.py'))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == 'list_rules':
            call = node.body[0].value
            return [arg.func.value.id for arg in call.args]
    raise SystemExit('list_rules() not found in __init__.py')


def main():
    git_dir = sys.argv[1]
    rev = sys.argv[2] if len(sys.argv) > 2 else 'HEAD'
    commit = subprocess.run(
        ['git', '-C', git_dir, 'rev-parse', rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    evaluator = Evaluator({})
    base_tree = ast.parse(show(git_dir, rev, f'{POLICIES}/base.py'))
    evaluator.modules['base'] = module_constants(base_tree, evaluator)

    rules = []
    for name in module_order(git_dir, rev):
        tree = ast.parse(show(git_dir, rev, f'{POLICIES}/{name}.py'))
        scope = module_constants(tree, evaluator)
        # Nodes are yielded breadth-first; sort them back into source order.
        calls = sorted(rule_calls(tree), key=lambda c: (c.lineno, c.col_offset))
        for call in calls:
            args = {kw.arg: kw.value for kw in call.keywords}
            positional = ['name', 'check_str', 'description']
            for key, value in zip(positional, call.args):
                args[key] = value
            rule = {
                'name': evaluator.eval(args['name'], scope),
                'check_str': evaluator.eval(args['check_str'], scope),
                'scope_types': (
                    evaluator.eval(args['scope_types'], scope)
                    if 'scope_types' in args
                    else None
                ),
                'description': (
                    evaluator.eval(args['description'], scope)
                    if 'description' in args
                    else None
                ),
                'module': name,
            }
            removal = args.get('deprecated_for_removal')
            if removal is not None and evaluator.eval(removal, scope):
                rule['deprecated_for_removal'] = True
            rules.append(rule)

    json.dump(
        {'source': f'openstack/keystone@{commit}', 'rules': rules},
        sys.stdout,
        indent=1,
        ensure_ascii=False,
    )
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
