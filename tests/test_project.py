"""The project's shape: dependencies declared once, pinned, and the code's floors respected."""
import ast
import re
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_deps():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in data["dependencies"]}
    for extra in data["optional-dependencies"].values():
        names |= {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in extra}
    return names


def _environment_yml_deps():
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:")[1]
    names = set()
    for line in pip_block.splitlines():
        m = re.match(r"\s+-\s+(.+)", line)
        if m and not m.group(1).startswith("-"):
            names.add(_norm(re.split(r"[<>=!~ \[]", m.group(1))[0]))
    return names


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    assert _environment_yml_deps() == _pyproject_deps()
    text = (ROOT / "environment.yml").read_text()
    assert "-c constraints.txt" in text and "-e ." in text


def test_every_dependency_is_pinned_exactly_in_constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line {line!r} is not an exact pin"
            pins[_norm(name)] = version
    missing = _pyproject_deps() - set(pins)
    assert not missing, f"not pinned in constraints.txt: {sorted(missing)}"


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    assert "python3 tasks.py lab" in readme and "python3 tasks.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^exec python3 tasks.py test$", ci, re.M)


FLOORS = {
    "_validation": 0, "_rng": 0, "_special": 0, "_state": 0, "_parallel": 0,
    "scores": 1, "posteriors": 1, "metrics": 1, "linear_posterior": 1,
    "policies": 2, "contextual": 2, "nonstationary": 2, "ab_testing": 2, "environments": 2,
    "credit_card": 2, "production": 2, "propensities": 2,
    "simulate": 3, "contextual_simulate": 3, "explore_exploit": 3, "production_sim": 3,
    "offpolicy": 3,
    "plotting": 4, "widgets": 4, "grading": 4,
    "cli": 5, "service": 5,
}


def _module_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if node.module:
                yield node.module.split(".")[0]
            else:
                for alias in node.names:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bandit_lab."):
            yield node.module.split(".")[1]


def test_each_module_imports_only_from_lower_floors():
    pkg = ROOT / "bandit_lab"
    problems = []
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(pkg).parts
        if rel[0] == "__init__.py":
            continue
        top = rel[0].removesuffix(".py")
        if top not in FLOORS:
            problems.append(f"{'/'.join(rel)}: module not on any floor (add it to FLOORS)")
            continue
        for imported in _module_imports(path):
            if imported in FLOORS and imported != top and FLOORS[imported] > FLOORS[top]:
                problems.append(f"{'/'.join(rel)} (floor {FLOORS[top]}) imports {imported} "
                                f"(floor {FLOORS[imported]})")
            if imported in FLOORS and imported != top and FLOORS[imported] == FLOORS[top] and FLOORS[top] <= 1:
                problems.append(f"{'/'.join(rel)} imports {imported} from its own maths floor")
    assert not problems, "\n".join(problems)


def test_no_global_numpy_random_state():
    pattern = re.compile(r"np\.random\.(seed|rand|randn|randint|random|beta|choice|normal|"
                         r"uniform|binomial|multivariate_normal|shuffle|permutation|gamma)\s*\(")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "bandit_lab").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, f"global numpy random state used at {hits}"
